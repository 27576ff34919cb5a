// Issue 14 (domains) from Kotlin: an organization claims a domain, verifies
// it by a DNS TXT value the app looked up or by a mailed code, opens it to
// auto-join or to membership requests, and decides the requests (Clerk
// Verified Domains and membership requests, Auth0 Membership on
// Authentication). Run from commandScenarios() in CommandsTest.kt.

import enlist.*
import enlist.core.*

fun domainsScenario() {
    val w = newWorld()
    val e = w.engine
    val pat = Actor.Member(w.join("pat@acme.test").id)
    denied("claimDomain by a plain member") { e.claimDomain(w.org, pat, "acme.test") }
    expectThrows<EnlistException.InvalidInput>("claimDomain of a wildcard") { e.claimDomain(w.org, w.owner, "*.acme.test") }

    // DNS TXT: the app looks the record up and passes what it saw.
    val claim = e.claimDomain(w.org, w.owner, "ACME.test")
    checkEq(claim.domain, "acme.test", "claimDomain: normalized")
    checkEq(claim.status, DomainStatus.PENDING, "claimDomain: pending")
    checkEq(claim.dnsRecordName, "_enlist-verification.acme.test", "claimDomain: the record to publish")
    expectThrows<EnlistException.Conflict>("verifyDomainDns without the value") {
        e.verifyDomainDns(w.org, w.owner, "acme.test", listOf("v=spf1 -all"))
    }
    val verified = e.verifyDomainDns(w.org, w.owner, "acme.test", listOf("v=spf1 -all", claim.dnsRecordValue))
    checkEq(verified.method, DomainVerificationMethod.DNS_TXT, "verifyDomainDns: verified by DNS")

    // A mailed code, through the outbox.
    e.claimDomain(w.org, w.owner, "beta.test")
    checkEq(e.sendDomainCode(w.org, w.owner, "beta.test", "it@beta.test").codeSentTo, "it@beta.test", "sendDomainCode: sent to")
    val mailer = TestMailer()
    e.deliverPending(mailer, 10u)
    val code = mailer.sent.single { it.to == "it@beta.test" }.acceptUrl.reveal()
    expectThrows<EnlistException.NotFound>("verifyDomainCode with a wrong code") {
        e.verifyDomainCode(w.org, w.owner, "beta.test", "00000-00000")
    }
    checkEq(e.verifyDomainCode(w.org, w.owner, "beta.test", code).method, DomainVerificationMethod.EMAIL_CODE, "verifyDomainCode: verified by code")
    checkEq(e.domains(w.org, w.owner).map { it.domain }, listOf("acme.test", "beta.test"), "domains: sorted")
    check(e.removeDomain(w.org, w.owner, "beta.test"), "removeDomain: it was claimed")

    // Offers and auto-join.
    checkEq(e.domainOffers("sam@acme.test", "acct-sam"), emptyList<DomainOffer>(), "domainOffers: nothing while enrollment is off")
    e.setDomainEnrollment(w.org, w.owner, "acme.test", DomainEnrollment.AUTO_JOIN, null)
    checkEq(e.domainOffers("sam@acme.test", "acct-sam").single().enrollment, DomainEnrollment.AUTO_JOIN, "domainOffers: auto join")
    val sam = e.joinByDomain(w.org, Registration(userRef = "acct-sam", firstName = "Sam", lastName = "Roe", verifiedEmail = "sam@acme.test"))
    checkEq(sam.role, "member", "joinByDomain: the domain's role")
    expectThrows<EnlistException.InvalidInput>("joinByDomain without a verified email") {
        e.joinByDomain(w.org, registration("acct-lee", "Lee", "Poe"))
    }

    // Membership requests.
    e.setDomainEnrollment(w.org, w.owner, "acme.test", DomainEnrollment.REQUEST, "member")
    val kim = e.requestMembership(w.org, Registration(userRef = "acct-kim", firstName = "Kim", lastName = "Lee", verifiedEmail = "kim@acme.test"))
    val again = e.requestMembership(w.org, Registration(userRef = "acct-kim", firstName = "Kim", lastName = "Lee", verifiedEmail = "kim@acme.test"))
    checkEq(again.id, kim.id, "requestMembership: a duplicate collapses")
    val lou = e.requestMembership(w.org, Registration(userRef = "acct-lou", firstName = "Lou", lastName = "Ray", verifiedEmail = "lou@acme.test"))
    denied("membershipRequests by a plain member") { e.membershipRequests(w.org, pat, MembershipRequestQuery()) }
    val page = e.membershipRequests(w.org, w.owner, MembershipRequestQuery(limit = 1u))
    val rest = e.membershipRequests(w.org, w.owner, MembershipRequestQuery(after = page.nextCursor))
    // Oldest first, ties (two requests in the same instant) by id.
    val oldestFirst = listOf(kim, lou).sortedWith(compareBy({ it.createdAt }, { it.id })).map { it.id }
    checkEq((page.items + rest.items).map { it.id }, oldestFirst, "membershipRequests: oldest first, paged")
    val member = e.approveMembershipRequest(w.org, w.owner, kim.id, null)
    checkEq(member.contactKey, "kim@acme.test", "approveMembershipRequest: the requester is a member")
    checkEq(e.declineMembershipRequest(w.org, w.owner, lou.id).status, MembershipRequestStatus.DECLINED, "declineMembershipRequest")
    checkEq(e.myMembershipRequest(w.org, "acct-lou")?.status, MembershipRequestStatus.DECLINED, "myMembershipRequest: the requester sees it")
    val kinds = e.events(w.org, w.owner, 0uL, 1000u).map { it.kind }
    check(kinds.any { it is EventKind.MembershipRequestApproved }, "events: MembershipRequestApproved")
    check(kinds.any { it is EventKind.DomainVerified }, "events: DomainVerified")
}
