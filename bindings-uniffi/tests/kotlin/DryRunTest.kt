// Issue 13's dry runs, member attributes and bulk update, from Kotlin:
// seed 001's live warning (a dry run of a paste), seed 000's review (a dry
// run of an import file), and seed 004's bulk update through the import
// template, first as a dry run (the diff, nothing written), then applied.
// Run from main() in EnlistTest.kt.

import enlist.*
import enlist.core.*

fun dryRunScenarios() {
    val w = newWorld()
    val e = w.engine
    w.join("bob@acme.test")
    val eventsBefore = e.events(w.org, w.owner, 0uL, 1000u).size

    // A dry run of a paste: the real command's answer, nothing written.
    val req = paste("bob@acme.test, new@acme.test, not an address").copy(attributes = mapOf("department" to "Sales"))
    val dry = e.dryRunInvite(w.org, w.owner, req)
    checkEq(dry.wouldIssue.map { it.recipient }, listOf<Contact>(Contact.Email("new@acme.test")), "dryRunInvite: who would be invited")
    checkEq(dry.wouldIssue.single().attributes, mapOf("department" to "Sales"), "dryRunInvite: the attributes they would carry")
    checkEq(dry.rejected.map { it.code() }, listOf("already_member", "invalid_address"), "dryRunInvite: the same reasons as invite")
    checkEq(e.events(w.org, w.owner, 0uL, 1000u).size, eventsBefore, "dryRunInvite: no event")
    checkEq(e.listInvitations(w.org, w.owner, InvitationQuery()).items.size, 1, "dryRunInvite: no invitation (bob's only)")
    denied("dryRunInvite by a plain member") { e.dryRunInvite(w.org, Actor.Member(w.join("plain@acme.test").id), paste("x@acme.test")) }

    // A dry run of an import file, by line.
    val csv = "Email,Department\nann@acme.test,Ops\nbad,\nann@acme.test,\n"
    val imp = e.dryRunImport(w.org, w.owner, csv.toByteArray(), ImportFormat.CSV, ImportDefaults(kind = MemberKind.MEMBER))
    checkEq(imp.batches.sumOf { it.wouldIssue.size }, 1, "dryRunImport: one row would be invited")
    checkEq(imp.rejected.map { it.line }, listOf(3u, 4u), "dryRunImport: the rejected lines")

    // Attributes: set by updateMember, bounded.
    val bob = e.listMembers(w.org, w.owner, MemberQuery(sort = MemberSort.EMAIL_ASC, search = "bob")).items.single()
    val tagged = e.updateMember(w.org, w.owner, bob.id, MemberUpdate(attributes = mapOf("job_title" to "Rep")))
    checkEq(tagged.attributes, mapOf("job_title" to "Rep"), "updateMember: attributes")
    expectThrows<EnlistException.InvalidInput>("updateMember: an attribute with a line break") {
        e.updateMember(w.org, w.owner, bob.id, MemberUpdate(attributes = mapOf("job_title" to "a\r\nb")))
    }

    // Seed 004: a bulk update, its dry run first.
    val file = "Email,First name,Role,Active,Department\n" +
        "bob@acme.test,Robert,admin,,Field\n" +
        "nobody@acme.test,,,,Ops\n" +
        "ada@acme.test,,,no,\n"
    val before = e.events(w.org, w.owner, 0uL, 1000u).size
    val diff = e.dryRunBulkUpdate(w.org, w.owner, file.toByteArray(), ImportFormat.CSV)
    check(!diff.applied, "dryRunBulkUpdate: not applied")
    checkEq(e.events(w.org, w.owner, 0uL, 1000u).size, before, "dryRunBulkUpdate: no event")
    checkEq(diff.rows.map { it.status }, listOf(BulkRowStatus.CHANGED, BulkRowStatus.FAILED, BulkRowStatus.FAILED), "dryRunBulkUpdate: per row")
    checkEq(diff.rows[0].changes.map { Triple(it.field, it.old, it.new) },
        listOf(Triple("first_name", "Test", "Robert"), Triple("role", "member", "admin"), Triple("attributes.department", "", "Field")),
        "dryRunBulkUpdate: the diff of bob's row")
    checkEq(diff.rows.map { it.code }, listOf(null, "not_found", "conflict"), "dryRunBulkUpdate: why rows fail (the last owner stays)")
    val applied = e.bulkUpdateMembers(w.org, w.owner, file.toByteArray(), ImportFormat.CSV)
    checkEq(applied.rows, diff.rows, "bulkUpdateMembers: what the dry run said")
    val robert = e.member(w.org, w.owner, bob.id)
    checkEq(listOf(robert.firstName, robert.role, robert.attributes["department"]), listOf("Robert", "admin", "Field"), "bulkUpdateMembers: applied")
    checkEq(e.events(w.org, w.owner, 0uL, 1000u).size, before + 1, "bulkUpdateMembers: one event for the one member changed")
    denied("bulkUpdateMembers by a plain member") {
        e.bulkUpdateMembers(w.org, Actor.Member(w.join("eve@acme.test").id), file.toByteArray(), ImportFormat.CSV)
    }
}
