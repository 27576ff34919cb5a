// Several invitation links (issue 14, ADR 0013) from Kotlin: named links
// with their own cap, expiry and domains; the URL shown again under the
// engine's link key; regenerate and revoke one link at a time. Run from
// commandScenarios() in CommandsTest.kt.

import enlist.*
import enlist.core.*
import java.time.Duration
import java.time.Instant

fun linksScenario() {
    val clock = TestClock(Instant.parse("2026-03-02T09:00:00Z"))
    val config = defaultEngineConfig().copy(defaultAcceptUrlBase = BASE)
    val e = inMemory(clock = clock, config = config, linkKeys = listOf(KEY_B))
    val created = e.createOrganization(NewOrganization(name = "Acme", ownerUserRef = "acct-ada", ownerEmail = "ada@acme.test", policy = defaultPolicy().copy(inviteLinkEnabled = true)))
    val org = created.organization.id
    val owner = Actor.Member(created.owner.id)

    // A capped link: two join, the third is told it is used up.
    val firstTwo = e.createLink(org, owner, NewLink(name = "First two", kind = MemberKind.MEMBER, maxUses = 2uL))
    checkEq(firstTwo.link.name to firstTwo.link.status, "First two" to LinkStatus.ACTIVE, "createLink: named and active")
    val url = firstTwo.url.reveal()
    check(url.startsWith(BASE), "createLink: the URL under the engine's base")
    e.joinByLink(url, "a@acme.test", registration("acct-a", "A", "A"))
    e.joinByLink(url, "b@acme.test", registration("acct-b", "B", "B"))
    val full = expectThrows<EnlistException.LimitExceeded>("joinByLink past the cap") { e.joinByLink(url, "c@acme.test", registration("acct-c", "C", "C")) }
    checkEq(full?.facts?.get("limit"), "link_uses", "the cap: limit link_uses")
    val seen = e.link(org, owner, firstTwo.link.id)
    checkEq(seen.uses to seen.status, 2uL to LinkStatus.EXHAUSTED, "link: uses counted, exhausted")

    // Its own domains and an expiry.
    val partners = e.createLink(org, owner, NewLink(name = "Partners", kind = MemberKind.MEMBER, allowedDomains = listOf("partner.test"), expiresInSecs = 3600uL))
    expectThrows<EnlistException.InvalidInput>("joinByLink from another domain") {
        e.joinByLink(partners.url.reveal(), "x@evil.test", Registration(userRef = "acct-x", firstName = "X", lastName = "X", verifiedEmail = "x@evil.test"))
    }
    e.joinByLink(partners.url.reveal(), "bob@partner.test", Registration(userRef = "acct-bob", firstName = "Bob", lastName = "B", verifiedEmail = "bob@partner.test"))

    // The URL again; regenerate one, the other keeps working.
    checkEq(e.linkUrl(org, owner, partners.link.id).reveal(), partners.url.reveal(), "linkUrl: the same URL again")
    val fresh = e.regenerateLink(org, owner, partners.link.id)
    check(fresh.url.reveal() != partners.url.reveal(), "regenerateLink: a new URL")
    expectThrows<EnlistException.NotFound>("the old URL after regenerateLink") { e.previewLink(partners.url.reveal()) }
    checkEq(e.previewLink(fresh.url.reveal()).orgName, "Acme", "the new URL works")

    // Revoke one; list them all with their statuses.
    checkEq(e.revokeLink(org, owner, firstTwo.link.id).status, LinkStatus.REVOKED, "revokeLink: revoked")
    clock.advance(Duration.ofHours(2))
    expectThrows<EnlistException.Expired>("joinByLink after the expiry") {
        e.joinByLink(fresh.url.reveal(), "eve@partner.test", Registration(userRef = "acct-eve", firstName = "E", lastName = "E", verifiedEmail = "eve@partner.test"))
    }
    val page = e.links(org, owner, 1u)
    checkEq(page.items.size, 1, "links: a page of one")
    val rest = e.links(org, owner, 10u, page.nextCursor)
    checkEq((page.items + rest.items).map { it.name to it.status }.toSet(), setOf("First two" to LinkStatus.REVOKED, "Partners" to LinkStatus.EXPIRED), "links: every link and its status")

    // A plain member sees none of it.
    val issued = e.invite(org, owner, InviteRequest(kind = MemberKind.MEMBER, recipients = Recipients.Rows(listOf(RecipientInput(email = "mel@acme.test"))))).issued.single()
    val mel = Actor.Member(e.accept(issued.secret!!.reveal(), registration("acct-mel", "Mel", "M")).member.id)
    denied("createLink by a plain member") { e.createLink(org, mel, NewLink(name = "mine", kind = MemberKind.MEMBER)) }
    denied("linkUrl by a plain member") { e.linkUrl(org, mel, partners.link.id) }
    e.close()

    // Without a link key the URL is shown once.
    val plain = inMemory(clock = clock, config = config)
    val o2 = plain.createOrganization(NewOrganization(name = "Beta", ownerUserRef = "acct-b", ownerEmail = "b@beta.test", policy = defaultPolicy().copy(inviteLinkEnabled = true)))
    val own = Actor.Member(o2.owner.id)
    val once = plain.createLink(o2.organization.id, own, NewLink(name = "Once", kind = MemberKind.MEMBER))
    val notKept = expectThrows<EnlistException.Conflict>("linkUrl without a key") { plain.linkUrl(o2.organization.id, own, once.link.id) }
    checkEq(notKept?.code, "link_url_not_kept", "linkUrl without a key: the code says so")
    plain.close()
}
