// Bulk actions over checked rows (seed 004's "Delete" with its typed
// number): bulkConfirmation, then bulkAction. Run from commandScenarios().

import enlist.*
import enlist.core.*

fun bulkScenario() {
    val w = newWorld()
    val e = w.engine
    val bob = w.join("bob@acme.test")
    val carol = w.join("carol@acme.test")
    val dave = w.issue("dave@acme.test", send = false).invitation.id
    val plain = Actor.Member(bob.id)

    val delete = BulkRequest(action = BulkAction.REMOVE, members = listOf(bob.id, carol.id), invitations = listOf(dave), role = null)
    denied("bulkConfirmation by a plain member") { e.bulkConfirmation(w.org, plain, delete) }
    val shown = e.bulkConfirmation(w.org, w.owner, delete)
    checkEq(shown.action to shown.rows, BulkAction.REMOVE to 3u, "bulkConfirmation: the action and its rows")
    val number = shown.number!!
    check(number.length == 6 && number.all { it.isDigit() }, "bulkConfirmation: six digits ($number)")
    check(shown.expiresAt!! > w.clock.now, "bulkConfirmation: expires later")

    val wrong = "%06d".format((number.toInt() + 500_000) % 1_000_000)
    val err = expectThrows<EnlistException.InvalidInput>("bulkAction with a wrong number") { e.bulkAction(w.org, w.owner, delete, wrong) }
    checkEq(err?.code, "confirmation_mismatch", "bulkAction: a wrong number has its own code")
    checkEq(e.member(w.org, w.owner, bob.id).status, MemberStatus.ACTIVE, "bulkAction with a wrong number: nobody deleted")

    val report = e.bulkAction(w.org, w.owner, delete, number)
    check(report.applied, "bulkAction: applied")
    checkEq(report.rows.map { it.outcome }, listOf(BulkOutcome.CHANGED, BulkOutcome.CHANGED, BulkOutcome.CHANGED), "bulkAction: every row changed")
    checkEq(report.rows.map { it.contact }, listOf("bob@acme.test", "carol@acme.test", "dave@acme.test"), "bulkAction: rows in order, with contacts")
    checkEq(e.member(w.org, w.owner, carol.id).status, MemberStatus.REMOVED, "bulkAction: removed")
    checkEq(e.invitation(w.org, w.owner, dave).status, InvitationStatus.REVOKED, "bulkAction: the saved-only user revoked")

    // A refused row: nothing changes, the report names it.
    val erin = w.join("erin@acme.test")
    val uma = Actor.Member(w.join("uma@acme.test", "user_admin").id)
    val off = BulkRequest(action = BulkAction.DEACTIVATE, members = listOf(erin.id, w.created.owner.id), invitations = emptyList(), role = null)
    val refused = e.bulkAction(w.org, uma, off, e.bulkConfirmation(w.org, uma, off).number)
    check(!refused.applied, "bulkAction with a refused row: not applied")
    checkEq(refused.rows.map { it.outcome to it.code }, listOf(BulkOutcome.NOT_APPLIED to null, BulkOutcome.REFUSED to "permission_denied"), "bulkAction: the refused row named")
    checkEq(e.member(w.org, w.owner, erin.id).status, MemberStatus.ACTIVE, "bulkAction refused: unchanged")
    e.close()
}
