// Issue 13 (caps) from Kotlin: what an actor may do (capabilities), the
// organization's default role, editing a staged invitation, "Active"
// unchecked (seed 004) and "See access code" (seed 002). Run from
// commandScenarios() in CommandsTest.kt.

import enlist.*
import enlist.core.*
import java.time.Instant

fun capabilitiesScenario() {
    val w = newWorld()
    val e = w.engine
    val caps = e.capabilities(w.org, w.owner)
    check(caps.canInvite && caps.managePolicy && caps.manageMembers, "capabilities: the owner may invite and manage")
    check("owner" in caps.members.roles && caps.members.withoutGroups, "capabilities: the owner may give any role, with no group")
    checkEq(caps.members.anyGroupRoles, listOf(GroupRole.MEMBER, GroupRole.OWNER), "capabilities: any group role in any group")
    checkEq(caps.guests.roles, listOf("guest"), "capabilities: guests get the guest role")
    check(!caps.accessCodesKept, "capabilities: no sealing key, codes are shown once")
    val pat = Actor.Member(w.join("pat@acme.test").id)
    val mine = e.capabilities(w.org, pat)
    check(!mine.canInvite && mine.members.roles.isEmpty(), "capabilities: a plain member may invite nobody")
    denied("invite by a member whose capabilities list nothing") { e.invite(w.org, pat, paste("x@acme.test")) }

    // The organization's default role.
    e.defineRole(w.org, w.owner, "staff", listOf(Permission.VIEW_MEMBERS))
    expectThrows<EnlistException.InvalidInput>("default role: the owner role is refused") {
        e.updatePolicy(w.org, w.owner, e.organization(w.org).policy.copy(defaultRole = "owner"))
    }
    e.updatePolicy(w.org, w.owner, e.organization(w.org).policy.copy(defaultRole = "staff"))
    checkEq(e.capabilities(w.org, w.owner).defaultRole, "staff", "capabilities: the default role")
    val staged = e.invite(w.org, w.owner, paste("kim@acme.test").copy(send = false, active = false)).issued.single().invitation
    checkEq(staged.role, "staff", "default role: used when none is named")
    check(!staged.active, "Active unchecked: the invitation is inactive")
    expectThrows<EnlistException.Conflict>("deleteRole of the default role") { e.deleteRole(w.org, w.owner, "staff") }

    // Active unchecked: cannot be sent until activated; edited before sending.
    val refused = e.sendStaged(w.org, w.owner, listOf(staged.id)).results.single()
    check(refused is SendOutcome.Failed, "sendStaged: an inactive invitation is not sent")
    val edited = e.updateStagedInvitation(w.org, w.owner, staged.id,
        StagedInvitationUpdate(role = "user_admin", firstName = "Kim", lastName = "Lee", active = true))
    check(edited.active && edited.role == "user_admin" && edited.firstName == "Kim", "updateStagedInvitation: role, names, Active")
    val kinds = e.events(w.org, w.owner, 0uL, 1000u).map { it.kind }
    check(kinds.any { it is EventKind.InvitationUpdated }, "updateStagedInvitation: an InvitationUpdated event")
    check(kinds.any { it is EventKind.InvitationActiveChanged }, "updateStagedInvitation: an InvitationActiveChanged event")
    check(e.sendStaged(w.org, w.owner, listOf(staged.id)).results.single() is SendOutcome.Sent, "sendStaged: sent once activated")
    expectThrows<EnlistException.Conflict>("updateStagedInvitation of a pending invitation") {
        e.updateStagedInvitation(w.org, w.owner, staged.id, StagedInvitationUpdate(role = "admin"))
    }
    denied("updateStagedInvitation by a plain member") {
        val other = e.invite(w.org, w.owner, paste("lou@acme.test").copy(send = false)).issued.single().invitation
        e.updateStagedInvitation(w.org, pat, other.id, StagedInvitationUpdate(firstName = "X"))
    }

    // See access code: shown once without a key, the error says so.
    val byCode = e.invite(w.org, w.owner, InviteRequest(kind = MemberKind.MEMBER, recipients = Recipients.Rows(listOf(RecipientInput(identifier = "EMP-1"))))).issued.single()
    val notKept = expectThrows<EnlistException.Conflict>("revealAccessCode without a sealing key") {
        e.revealAccessCode(w.org, w.owner, byCode.invitation.id)
    }
    checkEq(notKept?.code, "access_code_not_kept", "revealAccessCode without a key: the code says so")
    checkEq(notKept?.facts?.get("key_configured"), "false", "revealAccessCode without a key: key_configured")
    e.close()

    // With a sealing key: the code is shown again, to who may manage it.
    val keyed = inMemory(clock = TestClock(Instant.parse("2026-03-02T09:00:00Z")), sealingKeys = listOf(SealingKeySpec(id = "k1", key = KEY_A)))
    val created = keyed.createOrganization(NewOrganization(name = "Acme", ownerUserRef = "acct-ada", ownerEmail = "ada@acme.test", policy = defaultPolicy()))
    val owner = Actor.Member(created.owner.id)
    val issued = keyed.invite(created.organization.id, owner, InviteRequest(kind = MemberKind.MEMBER, recipients = Recipients.Rows(listOf(RecipientInput(identifier = "EMP-2"))))).issued.single()
    checkEq(keyed.revealAccessCode(created.organization.id, owner, issued.invitation.id).reveal(), issued.secret!!.reveal(), "revealAccessCode: the code issued")
    check(keyed.capabilities(created.organization.id, owner).revealAccessCodes, "capabilities: codes can be shown again")
    keyed.close()
    expectThrows<EnlistException.InvalidInput>("a sealing key of 5 bytes") {
        inMemory(sealingKeys = listOf(SealingKeySpec(id = "k1", key = ByteArray(5))))
    }
}
