// Issue 14 (orgs) from Kotlin: the organizations of an account, the host's
// list of all organizations, slugs, deleting an organization, leaving one,
// and permissions the host defines. Run from commandScenarios() in
// CommandsTest.kt.

import enlist.*
import enlist.core.*

fun orgsScenario() {
    val w = newWorld()
    val e = w.engine
    checkEq(e.organization(w.org).slug, "acme", "slug: derived from the name")
    val beta = e.createOrganization(
        NewOrganization(name = "Beta", ownerUserRef = "acct-bob", ownerEmail = "bob@beta.test", policy = defaultPolicy(), slug = "beta-hq")
    )
    checkEq(beta.organization.slug, "beta-hq", "slug: chosen")
    expectThrows<EnlistException.Conflict>("slug: a taken one is refused") {
        e.createOrganization(NewOrganization(name = "X", ownerUserRef = "x", ownerEmail = "x@x.test", policy = defaultPolicy(), slug = "beta-hq"))
    }
    val bob = w.join("bob@acme.test")
    val first = e.organizationsOf("acct-bob", null, 1u)
    checkEq(first.items.size, 1, "organizationsOf: a page of one")
    val rest = e.organizationsOf("acct-bob", first.nextCursor, 10u)
    checkEq((first.items + rest.items).map { it.slug }.sorted(), listOf("acme", "beta-hq"), "organizationsOf: both organizations")
    val all = e.listOrganizations(OrganizationQuery(prefix = "BETA", after = null, limit = 10u))
    checkEq(all.items.map { it.slug }, listOf("beta-hq"), "listOrganizations: by a prefix of the name")
    val moved = e.setOrganizationSlug(w.org, w.owner, "acme-inc")
    checkEq(moved.slug, "acme-inc", "setOrganizationSlug")
    checkEq(e.organizationBySlug("acme-inc").id, w.org, "organizationBySlug")
    denied("setOrganizationSlug by a plain member") { e.setOrganizationSlug(w.org, Actor.Member(bob.id), "bobs") }

    // Host-defined permissions.
    e.defineRole(w.org, w.owner, "billing", listOf(Permission.VIEW_MEMBERS))
    val role = e.setRoleCustomPermissions(w.org, w.owner, "billing", listOf("billing:read"))
    checkEq(role.customPermissions, listOf("billing:read"), "setRoleCustomPermissions")
    val bill = Actor.Member(w.join("bill@acme.test", "billing").id)
    check(e.hasPermission(w.org, bill, "billing:read"), "hasPermission: the role carries it")
    check(!e.hasPermission(w.org, Actor.Member(bob.id), "billing:read"), "hasPermission: a plain member lacks it")
    check(e.hasPermission(w.org, w.owner, "billing:read"), "hasPermission: an owner holds every one")
    e.authorize(w.org, bill, "billing:read")
    val refused = expectThrows<EnlistException.PermissionDenied>("authorize: a member without it") {
        e.authorize(w.org, Actor.Member(bob.id), "billing:read")
    }
    checkEq(refused?.code, "custom_permission_denied", "authorize: the code says which kind")
    checkEq(e.capabilities(w.org, bill).customPermissions, listOf("billing:read"), "capabilities: the custom permissions")

    // Leave, then delete.
    val left = e.leaveOrganization(w.org, Actor.Member(bob.id))
    checkEq(left.status, MemberStatus.REMOVED, "leaveOrganization")
    expectThrows<EnlistException.Conflict>("leaveOrganization: the last owner") { e.leaveOrganization(w.org, w.owner) }
    expectThrows<EnlistException.InvalidInput>("deleteOrganization: a wrong confirmation") {
        e.deleteOrganization(w.org, w.owner, "acme", DeleteMode.KEEP)
    }
    e.deleteOrganization(w.org, w.owner, "acme-inc", DeleteMode.KEEP)
    check(e.organization(w.org).deletedAt != null, "deleteOrganization: marked deleted")
    expectThrows<EnlistException.NotFound>("deleteOrganization: commands no longer find it") {
        e.capabilities(w.org, w.owner)
    }
    e.deleteOrganization(beta.organization.id, Actor.Member(beta.owner.id), "beta-hq", DeleteMode.PURGE)
    expectThrows<EnlistException.NotFound>("deleteOrganization: purged") { e.organization(beta.organization.id) }
}
