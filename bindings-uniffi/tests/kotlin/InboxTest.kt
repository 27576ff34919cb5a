// Issue 14 (invitee) from Kotlin: a signed-in person's invitations across
// organizations (better-auth listUserInvitations), accept and decline
// without the token, invitations of an existing account (Keycloak
// inviteExistingUser) and a member added directly (better-auth addMember).
// Run from commandScenarios() in CommandsTest.kt.

import enlist.*
import enlist.core.*
import java.time.Duration

fun inboxScenario() {
    val w = newWorld()
    val e = w.engine
    val other = e.createOrganization(
        NewOrganization(name = "Globex", ownerUserRef = "acct-gil", ownerEmail = "gil@globex.test", policy = defaultPolicy())
    )
    val globex = other.organization.id
    val gil = Actor.Member(other.owner.id)
    val fromAcme = w.issue("bob@x.test")
    w.clock.advance(Duration.ofSeconds(1))
    e.invite(globex, gil, paste("bob@x.test"))

    // The identity comes from the app's own verified session.
    val bob = Identity(verifiedEmail = "bob@x.test", userRef = "acct-bob")
    val inbox = e.invitationsFor(bob, null, 50u)
    checkEq(inbox.items.map { it.orgId }, listOf(globex, w.org), "invitationsFor: across organizations, newest first")
    checkEq(inbox.items[1].orgName, "Acme", "invitationsFor: the organization's name")
    check(!inbox.items[1].forAccount, "invitationsFor: found by the verified email")
    val token = fromAcme.secret!!.reveal()
    check(!inbox.toString().contains(token.substringAfterLast('.')), "invitationsFor: no secret in the page")
    val first = e.invitationsFor(bob, null, 1u)
    checkEq(first.items.size, 1, "invitationsFor: a page of one")
    checkEq(e.invitationsFor(bob, first.nextCursor, 1u).items.map { it.orgId }, listOf(w.org), "invitationsFor: the next page")

    // Someone else's: not found, like an id that does not exist.
    expectThrows<EnlistException.NotFound>("acceptFromInbox: another person's invitation") {
        e.acceptFromInbox(w.org, fromAcme.invitation.id, Registration(userRef = "acct-eve", firstName = "Eve", lastName = "E", verifiedEmail = "eve@x.test"))
    }
    val accepted = e.acceptFromInbox(w.org, fromAcme.invitation.id, Registration(userRef = "acct-bob", firstName = "Bob", lastName = "B", verifiedEmail = "bob@x.test"))
    checkEq(accepted.invitation.status, InvitationStatus.ACCEPTED, "acceptFromInbox: accepted without the token")
    val declined = e.declineFromInbox(globex, inbox.items[0].invitationId, bob)
    checkEq(declined.status, InvitationStatus.DECLINED, "declineFromInbox: declined without the token")
    check(e.invitationsFor(bob, null, 50u).items.isEmpty(), "invitationsFor: nothing open left")

    // An existing account, with no email: in-app only, for that account.
    val dan = e.invite(w.org, w.owner, InviteRequest(kind = MemberKind.MEMBER,
        recipients = Recipients.Rows(listOf(RecipientInput(userRef = "acct-dan"))))).issued.single()
    checkEq(dan.messageId, null, "invite by account: nothing is sent")
    checkEq(dan.invitation.userRef, "acct-dan", "invite by account: bound to the account")
    check(dan.invitation.recipient is Contact.Account, "invite by account: the contact is the account")
    expectThrows<EnlistException.NotFound>("accept an account invitation with another account's token") {
        e.accept(dan.secret!!.reveal(), registration("acct-mallory", "M", "M"))
    }
    val danInbox = e.invitationsFor(Identity(userRef = "acct-dan"), null, 50u)
    check(danInbox.items.single().forAccount, "invitationsFor: found by the account")
    val danMember = e.acceptFromInbox(w.org, dan.invitation.id, registration("acct-dan", "Dan", "D")).member
    checkEq((danMember.contact as? Contact.Account)?.userRef, "acct-dan", "acceptFromInbox: the member's contact is the account")

    // A member added directly.
    val pat = Actor.Member(w.join("pat@acme.test").id)
    denied("addMember by a plain member") {
        e.addMember(w.org, pat, NewMember(userRef = "acct-new", firstName = "N", lastName = "P", kind = MemberKind.MEMBER))
    }
    val added = e.addMember(w.org, w.owner, NewMember(userRef = "acct-new", email = "new@acme.test", firstName = "New", lastName = "Person", kind = MemberKind.MEMBER))
    checkEq(added.userRef, "acct-new", "addMember: the account is a member")
    expectThrows<EnlistException.Conflict>("addMember twice") {
        e.addMember(w.org, w.owner, NewMember(userRef = "acct-new", firstName = "N", lastName = "P", kind = MemberKind.MEMBER))
    }
    val kinds = e.events(w.org, w.owner, 0uL, 1000u).map { it.kind }
    check(kinds.any { it is EventKind.MemberAdded && it.userRef == "acct-new" }, "addMember: a MemberAdded event")
}
