// Issue 14 (per-invitation settings) from Kotlin: an invitation's own
// lifetime within the policy's bounds [Clerk expires_in_days, Auth0
// ttl_sec], a redirect URL from the host's allowlist [Clerk redirect_url],
// public and private metadata as JSON strings [Clerk public_metadata /
// private_metadata], the email's locale [WorkOS], and a limit of open
// invitations per inviter [better-auth invitationLimit]. Run from
// commandScenarios() in CommandsTest.kt.

import enlist.*
import enlist.core.*
import java.time.Duration
import java.time.Instant

const val DAY_SECS = 86_400uL

fun settingsScenario() {
    val clock = TestClock(Instant.parse("2026-03-02T09:00:00Z"))
    val config = defaultEngineConfig().copy(
        defaultAcceptUrlBase = BASE,
        allowedRedirectUrls = listOf("https://app.acme.test/welcome"),
    )
    val w = SecurityWorld(inMemory(clock = clock, config = config, secretKey = KEY_A), clock)
    val e = w.engine
    val start = clock.now
    e.updatePolicy(w.org, w.owner, e.organization(w.org).policy.copy(
        minInvitationLifetimeSecs = 3600uL,
        maxInvitationLifetimeSecs = 30uL * DAY_SECS,
        maxOpenInvitationsPerInviter = 3u,
    ))
    checkEq(e.organization(w.org).policy.maxOpenInvitationsPerInviter, 3u, "policy: the limit per inviter is kept")

    // Its own lifetime; a resend renews it by the same.
    val ann = e.invite(w.org, w.owner, paste("ann@acme.test").copy(
        lifetimeSecs = 2uL * DAY_SECS,
        redirectUrl = "https://app.acme.test/welcome/team",
        publicMetadata = """{"team": "blue"}""",
        privateMetadata = """{"crm_id": "A-17"}""",
        locale = "de-AT",
    )).issued.single()
    checkEq(ann.invitation.expiresAt, start.plus(Duration.ofDays(2)), "lifetime: expires after its own 2 days")
    checkEq(ann.invitation.publicMetadata, """{"team":"blue"}""", "metadata: the public object, as compact JSON")
    checkEq(ann.invitation.privateMetadata, """{"crm_id":"A-17"}""", "metadata: the inviter sees the private object")
    expectThrows<EnlistException.InvalidInput>("lifetime: 31 days is past the policy's maximum") {
        e.invite(w.org, w.owner, paste("bob@acme.test").copy(lifetimeSecs = 31uL * DAY_SECS))
    }
    expectThrows<EnlistException.InvalidInput>("redirect: another host is refused") {
        e.invite(w.org, w.owner, paste("bob@acme.test").copy(redirectUrl = "https://evil.test/welcome"))
    }
    expectThrows<EnlistException.InvalidInput>("redirect: a path out of the prefix is refused") {
        e.invite(w.org, w.owner, paste("bob@acme.test").copy(redirectUrl = "https://app.acme.test/welcome/../admin"))
    }
    expectThrows<EnlistException.InvalidInput>("metadata: a JSON array is no object") {
        e.invite(w.org, w.owner, paste("bob@acme.test").copy(publicMetadata = "[1, 2]"))
    }
    expectThrows<EnlistException.InvalidInput>("metadata: more than 4 KiB is refused before parsing") {
        e.invite(w.org, w.owner, paste("bob@acme.test").copy(publicMetadata = "{\"a\": \"" + "x".repeat(5000) + "\"}"))
    }
    checkEq(e.listInvitations(w.org, w.owner, InvitationQuery()).items.size, 1, "refused requests wrote nothing")

    // The invitee's side: public metadata and redirect shown, private never.
    val token = ann.secret!!.reveal()
    val preview = e.preview(token)
    checkEq(preview.redirectUrl, "https://app.acme.test/welcome/team", "preview: the redirect URL")
    checkEq(preview.publicMetadata, """{"team":"blue"}""", "preview: the public metadata")
    checkEq(preview.locale, "de-AT", "preview: the locale")
    val accepted = e.accept(token, registration("acct-ann", "Ann", "Lee"))
    checkEq(accepted.member.privateMetadata, "{}", "accept: the private metadata stays with the organization")
    checkEq(accepted.invitation.privateMetadata, "{}", "accept: the invitation without its private metadata")
    checkEq(accepted.invitation.redirectUrl, "https://app.acme.test/welcome/team", "accept: where to send the user")
    val member = e.member(w.org, w.owner, accepted.member.id)
    checkEq(member.privateMetadata, """{"crm_id":"A-17"}""", "member: the admin reads the private metadata")
    expectThrows<EnlistException.InvalidInput>("updateMember: metadata that is not JSON") {
        e.updateMember(w.org, w.owner, member.id, MemberUpdate(publicMetadata = "{not json"))
    }
    denied("updateMember: a member does not edit their own metadata") {
        e.updateMember(w.org, Actor.Member(member.id), member.id, MemberUpdate(publicMetadata = """{"team":"gold"}"""))
    }
    val edited = e.updateMember(w.org, w.owner, member.id, MemberUpdate(privateMetadata = "{}"))
    checkEq(edited.privateMetadata, "{}", "updateMember: the owner clears it")

    // A row's own lifetime out of bounds, and the limit per inviter.
    val rows = listOf(
        RecipientInput(email = "c@acme.test", locale = "fr"),
        RecipientInput(email = "d@acme.test", lifetimeSecs = 60uL * DAY_SECS),
        RecipientInput(email = "f@acme.test"),
        RecipientInput(email = "g@acme.test"),
        RecipientInput(email = "x@acme.test"),
    )
    val request = InviteRequest(kind = MemberKind.MEMBER, recipients = Recipients.Rows(rows))
    val dry = e.dryRunInvite(w.org, w.owner, request)
    val report = e.invite(w.org, w.owner, request)
    checkEq(report.rejected.map { it.reason }, listOf(
        RejectReason.LifetimeOutOfBounds(lifetimeSecs = 60uL * DAY_SECS, minSecs = 3600uL, maxSecs = 30uL * DAY_SECS),
        RejectReason.InviterLimitReached(limit = 3u),
    ), "rows: out of bounds, then over the limit of 3 open invitations")
    checkEq(dry.rejected.map { it.reason }, report.rejected.map { it.reason }, "dry run: the same rejections")
    checkEq(report.issued.first().invitation.locale, "fr", "rows: a row's own locale")
    val staged = e.invite(w.org, Actor.System, paste("h@acme.test").copy(send = false)).issued.single().invitation
    val restaged = e.updateStagedInvitation(w.org, w.owner, staged.id, StagedInvitationUpdate(lifetimeSecs = DAY_SECS, locale = "de"))
    checkEq(restaged.lifetimeSecs, DAY_SECS, "staged edit: its own lifetime")
    clock.advance(Duration.ofDays(8))
    val expired = report.issued.first().invitation.id
    e.invite(w.org, w.owner, paste("i@acme.test, j@acme.test, k@acme.test"))
    val over = expectThrows<EnlistException.LimitExceeded>("resend: reopening an expired invitation passes the limit") {
        e.resend(w.org, w.owner, expired)
    }
    checkEq(over?.code, "limit_exceeded", "resend over the limit: code")
}
