// Issue 14 (hooks) from Kotlin: the app's Hooks (better-auth's
// organizationHooks) refuse a change inside its transaction, see what was
// committed after it, reject one recipient of a batch; the event feed of
// every organization for webhooks. Run from commandScenarios() in
// CommandsTest.kt.

import enlist.*
import enlist.core.*

/** Refuses the change kinds named in [refuse]; records every call. */
class TestHooks : Hooks {
    val refuse = mutableSetOf<String>()
    val before = mutableListOf<HookChange>()
    val after = mutableListOf<HookChange>()
    var engine: Engine? = null
    val readAfter = mutableListOf<Member>()

    private fun name(kind: EventKind): String = kind::class.simpleName ?: "?"

    override fun before(change: HookChange) {
        Parity.record("hooks.before")
        before.add(change)
        val kind = change.kind
        if (kind is EventKind.InvitationIssued && kind.recipient.endsWith("@rival.test")) {
            throw HookException.Refused("no rivals")
        }
        if (name(kind) in refuse) throw HookException.Refused("no ${name(kind)} today")
    }

    override fun after(change: HookChange) {
        Parity.record("hooks.after")
        after.add(change)
        // After the commit, outside the transaction: the engine answers.
        val m = change.member
        val e = engine
        if (m != null && e != null) readAfter.add(e.member(change.orgId, Actor.System, m.id))
        throw IllegalStateException("a failing after-hook cannot fail the command")
    }
}

fun hooksScenario() {
    val w = newWorld()
    val hooks = TestHooks()
    val e = Parity.track(w.engine.withHooks(hooks))
    hooks.engine = e

    // A refused accept: the reason reaches the caller, nothing changes.
    val issued = e.invite(w.org, w.owner, paste("bob@acme.test")).issued.single()
    hooks.refuse.add("InvitationAccepted")
    val refused = expectThrows<EnlistException.PermissionDenied>("hooks: a refused accept") {
        e.accept(issued.secret!!.reveal(), registration("acct-bob", "Bob", "B"))
    }
    checkEq(refused?.code, "hook_refused", "hooks: the refusal's code")
    checkEq(refused?.facts?.get("reason"), "no InvitationAccepted today", "hooks: the hook's reason")
    checkEq(e.invitation(w.org, w.owner, issued.invitation.id).status, InvitationStatus.PENDING, "hooks: the invitation is still pending")
    val asked = hooks.before.last()
    checkEq(asked.command, "accept", "hooks: the before-hook names the command")
    checkEq(asked.member?.contactKey, "bob@acme.test", "hooks: the before-hook sees the member about to join")
    check(asked.toString().indexOf(issued.secret!!.reveal()) < 0, "hooks: no secret in what a hook sees")

    // Allowed: the after-hook sees it committed (its exception is only logged).
    hooks.refuse.clear()
    val bob = e.accept(issued.secret!!.reveal(), registration("acct-bob", "Bob", "B")).member
    val accepted = hooks.after.last()
    check(accepted.kind is EventKind.InvitationAccepted && accepted.seq > 0uL, "hooks: the after-hook sees the accepted invitation, numbered")
    checkEq(hooks.readAfter.map { it.id }, listOf(bob.id), "hooks: the after-hook read the committed member through the engine")

    // A batch: only the refused recipient is rejected.
    val report = e.invite(w.org, w.owner, paste("a@acme.test, eve@rival.test"))
    checkEq(report.issued.map { it.invitation.recipientKey }, listOf("a@acme.test"), "hooks: the batch goes ahead")
    checkEq(report.rejected.single().reason, RejectReason.RefusedByHook("no rivals"), "hooks: the refused recipient's reason")

    // Removal refused.
    hooks.refuse.add("MemberRemoved")
    denied("hooks: a refused removal") { e.removeMember(w.org, w.owner, bob.id) }
    checkEq(e.member(w.org, w.owner, bob.id).status, MemberStatus.ACTIVE, "hooks: bob is still active")

    // The event feed of every organization, after a cursor, by kind.
    val all = e.eventFeed(null, emptyList(), 1000u)
    check(all.events.isNotEmpty() && all.next == all.events.last().cursor, "eventFeed: every event, and the cursor after the last")
    val other = e.createOrganization(NewOrganization(name = "Beta", ownerUserRef = "acct-bo", ownerEmail = "bo@beta.test", policy = defaultPolicy()))
    val next = e.eventFeed(all.next, listOf("organization_created"), 100u)
    checkEq(next.events.map { it.event.orgId }, listOf(other.organization.id), "eventFeed: what came after the cursor, filtered by kind")
    expectThrows<EnlistException.InvalidInput>("eventFeed: an unknown kind") { e.eventFeed(null, listOf("no_such_kind"), 10u) }
    e.close()
}
