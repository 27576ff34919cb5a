// One check per command that the tour in EnlistTest.kt leaves out, each
// asserting what the command did, and at least one denial per family of
// commands (a member without the right gets EnlistException.PermissionDenied
// and nothing changes). Run from main() in EnlistTest.kt; Parity.kt makes
// sure every export is called by some check.

import enlist.*
import enlist.core.*
import java.io.File
import java.time.Duration

fun commandScenarios(@Suppress("UNUSED_PARAMETER") dir: File) {
    consumerScenario()
    functionsScenario()
    organizationScenario()
    rolesScenario()
    groupsScenario()
    invitationLifecycleScenario()
    linkScenario()
    selfRegistrationScenario()
    memberLifecycleScenario()
    claimScenario()
    emailTemplatesScenario()
    bulkScenario()
    capabilitiesScenario()
    orgsScenario()
    reportsScenario()
    settingsScenario()
    hooksScenario()
    inboxScenario()
    domainsScenario()
    linksScenario()
}

/** [block] must be refused with PermissionDenied. */
fun denied(what: String, block: () -> Unit) {
    expectThrows<EnlistException.PermissionDenied>(what, block)
}

/** The program runs as a consumer of the library jar would: no library path, the native library inside the jar. */
fun consumerScenario() {
    checkEq(System.getProperty("jna.library.path"), null, "consumer: no -Djna.library.path")
    checkEq(System.getProperty("uniffi.component.enlist_ffi.libraryOverride"), null, "consumer: no library override")
    val resource = "${com.sun.jna.Platform.RESOURCE_PREFIX}/${System.mapLibraryName("enlist_ffi")}"
    val url = EnlistInterface::class.java.classLoader.getResource(resource)
    val jar = EnlistInterface::class.java.protectionDomain.codeSource.location.toString()
    check(url != null && url.toString().startsWith("jar:$jar!/"), "consumer: the native library is a resource of the library jar ($resource in $jar)")
}

fun functionsScenario() {
    checkEq(normalizeIdentifier("+33 (6) 12-34"), "+3361234", "normalizeIdentifier: the form the engine compares")
    checkEq(normalizeIdentifier(" emp-0042 "), normalizeIdentifier("EMP 0042"), "normalizeIdentifier: case and separators do not matter")
    expectThrows<EnlistException.InvalidInput>("normalizeIdentifier of separators only") { normalizeIdentifier(" -() ") }

    val engine = inMemory()
    val created = engine.createOrganization(NewOrganization(name = "Acme", ownerUserRef = "acct-ada", ownerEmail = "ada@acme.test", policy = defaultPolicy()))
    val org = created.organization.id
    val owner = Actor.Member(created.owner.id)
    checkEq(created.organization.policy, defaultPolicy(), "defaultPolicy(): a new organization's policy")
    engine.updatePolicy(org, owner, defaultPolicy().copy(maxBatch = 2u))
    expectThrows<EnlistException.LimitExceeded>("a batch of 3 under defaultPolicy().copy(maxBatch = 2u)") {
        engine.invite(org, owner, paste("a@acme.test, b@acme.test, c@acme.test"))
    }
    checkEq(engine.invite(org, owner, paste("a@acme.test, b@acme.test")).issued.size, 2, "a batch of 2 under maxBatch = 2u")

    // The template imports as it is, once its groups exist.
    val template = importTemplateCsv()
    check(template.lines().first().startsWith("Email,Identifier,First name,Last name"), "importTemplateCsv: the header row")
    engine.updatePolicy(org, owner, defaultPolicy())
    val sales = engine.createGroup(org, owner, NewGroup(name = "Sales"))
    val support = engine.createGroup(org, owner, NewGroup(name = "Support"))
    val imported = engine.importInvitations(org, owner, template.toByteArray(), ImportFormat.CSV, ImportDefaults(kind = MemberKind.MEMBER, send = false))
    checkEq(imported.rejected().map { it.line to it.code() }, emptyList<Pair<UInt, String>>(), "importTemplateCsv: no row rejected")
    checkEq(imported.issued().map { it.line }, listOf(2u, 3u), "importTemplateCsv: both example rows issued")
    checkEq(imported.issued().first().issued.invitation.groups.toSet(),
        setOf(GroupGrant(sales.id, GroupRole.OWNER), GroupGrant(support.id, GroupRole.MEMBER)), "importTemplateCsv: Sales:owner;Support")
    checkEq(imported.issued().map { it.issued.invitation.status }, listOf(InvitationStatus.STAGED, InvitationStatus.STAGED), "ImportDefaults(kind = MemberKind.MEMBER, send = false): staged")
    engine.close()
}

fun organizationScenario() {
    val w = newWorld()
    val e = w.engine
    checkEq(e.now(), w.clock.now, "now(): the engine's clock")
    w.clock.advance(Duration.ofMinutes(5))
    checkEq(e.now(), w.clock.now, "now(): follows the clock")
    val bob = Actor.Member(w.join("bob@acme.test").id)

    checkEq(e.renameOrganization(w.org, w.owner, "Acme Corp").name, "Acme Corp", "renameOrganization: the new name")
    checkEq(e.organization(w.org).name, "Acme Corp", "renameOrganization: stored")
    denied("renameOrganization by a plain member") { e.renameOrganization(w.org, bob, "Bob's") }
    checkEq(e.organization(w.org).name, "Acme Corp", "renameOrganization denied: unchanged")
    expectThrows<EnlistException.InvalidInput>("renameOrganization to a blank name") { e.renameOrganization(w.org, w.owner, "  ") }
    denied("updatePolicy by a plain member") {
        e.updatePolicy(w.org, bob, e.organization(w.org).policy.copy(selfRegistration = true))
    }
    checkEq(e.organization(w.org).policy.selfRegistration, false, "updatePolicy denied: unchanged")

    val all = e.events(w.org, w.owner, 0uL, 1000u)
    check(all.size >= 3, "events: the trail (${all.size})")
    checkEq(e.events(w.org, w.owner, all[all.size - 2].seq, 1000u).map { it.seq }, listOf(all.last().seq), "events: after a position")
    checkEq(e.events(w.org, w.owner, 0uL, 2u).size, 2, "events: at most limit")
    denied("events by a plain member (no ViewAudit)") { e.events(w.org, bob, 0uL, 10u) }
    e.close()
}

fun rolesScenario() {
    val w = newWorld()
    val e = w.engine
    val builtIns = e.roles(w.org)
    checkEq(builtIns.map { it.name }, listOf("owner", "admin", "user_admin", "member", "guest"), "roles: the five built-ins")
    check(builtIns.all { it.builtIn }, "roles: built-ins are flagged")
    checkEq(builtIns.single { it.name == "member" }.permissions, listOf(Permission.VIEW_MEMBERS), "roles: a member sees the directory")

    val auditor = e.defineRole(w.org, w.owner, "auditor", listOf(Permission.VIEW_MEMBERS, Permission.VIEW_AUDIT))
    checkEq(auditor.name to auditor.builtIn, "auditor" to false, "defineRole: a custom role")
    checkEq(auditor.permissions.toSet(), setOf(Permission.VIEW_MEMBERS, Permission.VIEW_AUDIT), "defineRole: its permissions")
    checkEq(e.roles(w.org).last(), auditor, "roles: custom roles after the built-ins")

    // Used: granted on accept, it allows what it holds and nothing more.
    val ann = w.join("ann@acme.test", "auditor")
    checkEq(ann.role, "auditor", "custom role: granted on accept")
    val annActor = Actor.Member(ann.id)
    check(e.events(w.org, annActor, 0uL, 10u).isNotEmpty(), "custom role: ViewAudit lets the auditor read the trail")
    denied("custom role: an auditor inviting") { e.invite(w.org, annActor, paste("x@acme.test")) }
    e.defineRole(w.org, w.owner, "auditor", listOf(Permission.VIEW_MEMBERS))
    denied("redefined role: the auditor's ViewAudit is gone") { e.events(w.org, annActor, 0uL, 10u) }

    // Denials: no ManageRoles, or a permission the definer lacks.
    val bob = Actor.Member(w.join("bob@acme.test").id)
    val ua = Actor.Member(w.join("ua@acme.test", "user_admin").id)
    val admin = Actor.Member(w.join("admin@acme.test", "admin").id)
    denied("defineRole by a plain member") { e.defineRole(w.org, bob, "boss", listOf(Permission.VIEW_MEMBERS)) }
    denied("defineRole by a user_admin") { e.defineRole(w.org, ua, "boss", listOf(Permission.INVITE_MEMBERS)) }
    denied("defineRole by an admin, with OwnOrganization") { e.defineRole(w.org, admin, "boss", listOf(Permission.OWN_ORGANIZATION)) }
    check("boss" !in e.roles(w.org).map { it.name }, "defineRole denied: no role")

    expectThrows<EnlistException.Conflict>("deleteRole of a role someone holds") { e.deleteRole(w.org, w.owner, "auditor") }
    e.defineRole(w.org, w.owner, "temp", listOf(Permission.VIEW_MEMBERS))
    denied("deleteRole by a plain member") { e.deleteRole(w.org, bob, "temp") }
    check("temp" in e.roles(w.org).map { it.name }, "deleteRole denied: the role stays")
    e.deleteRole(w.org, w.owner, "temp")
    check("temp" !in e.roles(w.org).map { it.name }, "deleteRole: gone")
    expectThrows<EnlistException.NotFound>("deleteRole of an unknown role") { e.deleteRole(w.org, w.owner, "temp") }
    e.close()
}

fun groupsScenario() {
    val w = newWorld()
    val e = w.engine
    val bob = w.join("bob@acme.test")
    val carol = w.join("carol@acme.test")
    val carolActor = Actor.Member(carol.id)

    val sales = e.createGroup(w.org, w.owner, NewGroup(name = "Sales", description = "Field team"))
    e.createGroup(w.org, w.owner, NewGroup(name = "Support"))
    checkEq(e.listGroups(w.org, w.owner, GroupQuery(sort = GroupSort.NAME_ASC)).map { it.name }, listOf("Sales", "Support"), "listGroups: by name")
    checkEq(e.listGroups(w.org, w.owner, GroupQuery(sort = GroupSort.NAME_ASC, search = "sal")).map { it.id }, listOf(sales.id), "listGroups: search")

    val updated = e.updateGroup(w.org, w.owner, sales.id, GroupUpdate(name = "Field Sales", isDefault = true))
    checkEq(Triple(updated.name, updated.description, updated.isDefault), Triple("Field Sales", "Field team", true), "updateGroup: name and flag changed, description kept")
    checkEq(e.group(w.org, w.owner, sales.id), updated, "updateGroup: stored")

    e.addGroupMember(w.org, w.owner, sales.id, bob.id)
    e.addGroupMember(w.org, w.owner, sales.id, carol.id, GroupRole.MEMBER)
    e.setGroupRole(w.org, w.owner, sales.id, bob.id, GroupRole.OWNER)
    checkEq(e.member(w.org, w.owner, bob.id).groups, listOf(GroupGrant(sales.id, GroupRole.OWNER)), "setGroupRole: Bob owns the group")
    e.removeGroupMember(w.org, w.owner, sales.id, carol.id)
    checkEq(e.member(w.org, w.owner, carol.id).groups, emptyList<GroupGrant>(), "removeGroupMember: Carol is out")
    checkEq(e.group(w.org, w.owner, sales.id).memberCount, 1uL, "removeGroupMember: one member left")
    checkEq(e.listMembers(w.org, w.owner, MemberQuery(sort = MemberSort.EMAIL_ASC, groupId = sales.id)).items.map { it.id }, listOf(bob.id), "listMembers: by group")
    // The people view: members and open invitations in one list, with labels.
    val people = e.people(w.org, w.owner, PeopleQuery(sort = PeopleSort.EMAIL, groupId = sales.id))
    checkEq(people.items.map { it.memberId }, listOf(bob.id), "people: by group")
    checkEq(people.items.map { it.label }, listOf(PersonLabel.ACTIVE), "people: Bob is Active")
    val byEmailDesc = e.people(w.org, w.owner, PeopleQuery(sort = PeopleSort.EMAIL, descending = true)).items.map { it.contactKey }
    checkEq(byEmailDesc, byEmailDesc.sortedDescending(), "people: sorted by email, Z to A")
    checkEq(e.people(w.org, w.owner, PeopleQuery(sort = PeopleSort.NAME, search = "BOB")).items.map { it.memberId }, listOf(bob.id), "people: searched by a case-folded prefix")
    denied("people by an anonymous caller") { e.people(w.org, Actor.Anonymous, PeopleQuery(sort = PeopleSort.NAME)) }

    denied("createGroup by a plain member") { e.createGroup(w.org, carolActor, NewGroup(name = "Carol's")) }
    denied("updateGroup by a plain member") { e.updateGroup(w.org, carolActor, sales.id, GroupUpdate(name = "Mine")) }
    denied("addGroupMember by a plain member") { e.addGroupMember(w.org, carolActor, sales.id, carol.id) }
    denied("setGroupRole by a plain member") { e.setGroupRole(w.org, carolActor, sales.id, bob.id, GroupRole.MEMBER) }
    denied("removeGroupMember by a plain member") { e.removeGroupMember(w.org, carolActor, sales.id, bob.id) }
    denied("deleteGroup by a plain member") { e.deleteGroup(w.org, carolActor, sales.id) }
    checkEq(e.group(w.org, w.owner, sales.id), updated.copy(memberCount = 1uL), "group commands denied: the group is unchanged")
    checkEq(e.listGroups(w.org, w.owner, GroupQuery(sort = GroupSort.NAME_ASC)).size, 2, "createGroup denied: no new group")
    checkEq(e.member(w.org, w.owner, bob.id).groups, listOf(GroupGrant(sales.id, GroupRole.OWNER)), "group commands denied: Bob still owns it")

    checkEq(e.deleteGroup(w.org, w.owner, sales.id), 1uL, "deleteGroup: one member detached")
    expectThrows<EnlistException.NotFound>("group after deleteGroup") { e.group(w.org, w.owner, sales.id) }
    val bobAfter = e.member(w.org, w.owner, bob.id)
    checkEq(bobAfter.status to bobAfter.groups, MemberStatus.ACTIVE to emptyList<GroupGrant>(), "deleteGroup: the member stays, without the group")
    checkEq(e.listGroups(w.org, w.owner, GroupQuery(sort = GroupSort.NAME_ASC)).map { it.name }, listOf("Support"), "deleteGroup: listed no more")
    e.close()
}

fun invitationLifecycleScenario() {
    val w = newWorld()
    val e = w.engine
    val mailer = TestMailer()
    val plain = Actor.Member(w.join("plain@acme.test").id)
    e.deliverPending(mailer, 10u)
    mailer.sent.clear()

    // Staged, then sent.
    val a = w.issue("a@acme.test", send = false)
    val b = w.issue("b@acme.test", send = false)
    checkEq(listOf(a, b).map { it.invitation.status }, listOf(InvitationStatus.STAGED, InvitationStatus.STAGED), "invite(send = false): staged")
    checkEq(listOf(a, b).map { it.messageId }, listOf<String?>(null, null), "staged: no email queued")
    checkEq(e.deliverPending(mailer, 10u).sent, emptyList<String>(), "staged: nothing to deliver")
    // Someone who may not invite at all is refused up front, before any id is read.
    denied("sendStaged by a plain member") { e.sendStaged(w.org, plain, listOf(a.invitation.id)) }
    checkEq(e.invitation(w.org, w.owner, a.invitation.id).status, InvitationStatus.STAGED, "sendStaged refused: still staged")

    val sent = e.sendStaged(w.org, w.owner, listOf(a.invitation.id, b.invitation.id)).results.map { (it as? SendOutcome.Sent)?.issued }
    checkEq(sent.map { it?.invitation?.id }, listOf(a.invitation.id, b.invitation.id), "sendStaged: both sent, in order")
    checkEq(sent.map { it?.invitation?.status }, listOf(InvitationStatus.PENDING, InvitationStatus.PENDING), "sendStaged: pending")
    check(sent.all { it?.messageId != null && it.secret != null }, "sendStaged: an email queued and a secret each")
    checkEq(e.deliverPending(mailer, 10u).sent.size, 2, "sendStaged: the emails are delivered")
    checkEq(mailer.sent.map { it.to }.toSet(), setOf("a@acme.test", "b@acme.test"), "sendStaged: to the staged recipients")
    val again = e.sendStaged(w.org, w.owner, listOf(a.invitation.id)).results.single()
    check(again is SendOutcome.Failed && again.invitationId == a.invitation.id, "sendStaged of a sent invitation: a failed outcome ($again)")
    val aToken = sent[0]!!.secret!!.reveal()
    val bToken = sent[1]!!.secret!!.reveal()

    // Revoked.
    denied("revoke by a plain member") { e.revoke(w.org, plain, b.invitation.id) }
    denied("resend by a plain member") { e.resend(w.org, plain, b.invitation.id) }
    checkEq(e.invitation(w.org, w.owner, b.invitation.id).status, InvitationStatus.PENDING, "revoke denied: still pending")
    val revoked = e.revoke(w.org, w.owner, b.invitation.id)
    checkEq(revoked.id to revoked.status, b.invitation.id to InvitationStatus.REVOKED, "revoke: revoked")
    expectThrows<EnlistException.Revoked>("accepting a revoked invitation") { e.accept(bToken, registration("acct-b", "B", "B")) }
    expectThrows<EnlistException.Conflict>("revoking twice") { e.revoke(w.org, w.owner, b.invitation.id) }

    // Declined, by the invitee (no actor: the token is the right).
    checkEq(e.preview(aToken).status, InvitationStatus.PENDING, "preview before decline: pending")
    val declined = e.decline(aToken)
    checkEq(declined.id to declined.status, a.invitation.id to InvitationStatus.DECLINED, "decline: declined")
    checkEq(e.invitation(w.org, w.owner, a.invitation.id).status, InvitationStatus.DECLINED, "decline: stored")
    expectThrows<EnlistException.Conflict>("accepting a declined invitation") { e.accept(aToken, registration("acct-a", "A", "A")) }
    expectThrows<EnlistException.NotFound>("declining with a made-up token") { e.decline("org_nothing") }
    checkEq(e.listMembers(w.org, w.owner, MemberQuery(sort = MemberSort.EMAIL_ASC)).items.map { it.contactKey }.toSet(), setOf("ada@acme.test", "plain@acme.test"), "revoked and declined: nobody joined")

    // Import: the same right as inviting.
    val before = e.listInvitations(w.org, w.owner, InvitationQuery()).items.size
    denied("importInvitations by a plain member") {
        e.importInvitations(w.org, plain, "Email\nzed@acme.test\n".toByteArray(), ImportFormat.CSV, ImportDefaults(kind = MemberKind.MEMBER))
    }
    denied("listInvitations by an anonymous caller") { e.listInvitations(w.org, Actor.Anonymous, InvitationQuery()) }
    checkEq(e.listInvitations(w.org, w.owner, InvitationQuery()).items.size, before, "importInvitations denied: nothing issued")
    e.close()
}

fun linkScenario() {
    val w = newWorld { it.copy(inviteLinkEnabled = true) }
    val e = w.engine
    val plain = Actor.Member(w.join("plain@acme.test").id)
    checkEq(e.inviteLink(w.org, w.owner), null, "inviteLink: none before activation")
    denied("activateInviteLink by a plain member") { e.activateInviteLink(w.org, plain, LinkSpec(kind = MemberKind.MEMBER)) }
    checkEq(e.inviteLink(w.org, w.owner), null, "activateInviteLink denied: no link")

    val team = e.createGroup(w.org, w.owner, NewGroup(name = "Newcomers"))
    val url = e.activateInviteLink(w.org, w.owner, LinkSpec(kind = MemberKind.MEMBER, groups = listOf(GroupGrant(team.id, GroupRole.MEMBER)))).url.reveal()
    val preview = e.previewLink(url)
    checkEq(listOf(preview.orgId, preview.orgName, preview.role), listOf(w.org, "Acme", "member"), "previewLink: organization and role")
    checkEq(preview.groupNames, listOf("Newcomers"), "previewLink: the groups joined")
    check(preview.requirements.firstName && preview.requirements.lastName, "previewLink: what to ask")
    val nina = e.joinByLink(url, "nina@acme.test", registration("acct-nina", "Nina", "N"))
    checkEq(nina.groups, listOf(GroupGrant(team.id, GroupRole.MEMBER)), "joinByLink: into the link's group")

    denied("deactivateInviteLink by a plain member") { e.deactivateInviteLink(w.org, plain) }
    checkEq(e.inviteLink(w.org, w.owner)?.active, true, "deactivateInviteLink denied: still active")
    e.deactivateInviteLink(w.org, w.owner)
    val link = e.inviteLink(w.org, w.owner)
    checkEq(link?.active to link?.uses, false to 1uL, "deactivateInviteLink: inactive, its use counted")
    expectThrows<EnlistException.NotFound>("joinByLink after deactivation") { e.joinByLink(url, "omar@acme.test", registration("acct-omar", "Omar", "O")) }
    expectThrows<EnlistException.NotFound>("previewLink after deactivation") { e.previewLink(url) }
    checkEq(e.listMembers(w.org, w.owner, MemberQuery(sort = MemberSort.EMAIL_ASC, search = "omar")).items, emptyList<Member>(), "deactivated link: nobody joined")

    val fresh = e.activateInviteLink(w.org, w.owner, LinkSpec(kind = MemberKind.MEMBER)).url.reveal()
    check(fresh != url, "activateInviteLink again: a new URL")
    expectThrows<EnlistException.NotFound>("the old URL after a new activation") { e.previewLink(url) }
    checkEq(e.previewLink(fresh).groupNames, emptyList<String>(), "the new URL: its own spec")
    e.close()

    val off = newWorld()
    denied("activateInviteLink with the link off in the policy") { off.engine.activateInviteLink(off.org, off.owner, LinkSpec(kind = MemberKind.MEMBER)) }
    off.engine.close()
}

fun selfRegistrationScenario() {
    val w = newWorld()
    val e = w.engine
    denied("selfRegister while the policy does not allow it") { e.selfRegister(w.org, "zoe@acme.test", registration("acct-zoe", "Zoe", "Zed")) }
    checkEq(e.listMembers(w.org, w.owner, MemberQuery(sort = MemberSort.EMAIL_ASC, search = "zoe")).items, emptyList<Member>(), "selfRegister denied: nobody joined")

    e.updatePolicy(w.org, w.owner, e.organization(w.org).policy.copy(selfRegistration = true))
    val zoe = e.selfRegister(w.org, "Zoe@ACME.test", registration("acct-zoe", "Zoe", "Zed"))
    checkEq(listOf(zoe.contactKey, zoe.displayName(), zoe.role, zoe.userRef), listOf("zoe@acme.test", "Zoe Zed", "member", "acct-zoe"), "selfRegister: a member")
    checkEq(zoe.status, MemberStatus.ACTIVE, "selfRegister: active")
    checkEq(e.member(w.org, w.owner, zoe.id), zoe, "selfRegister: stored")
    expectThrows<EnlistException.Conflict>("selfRegister twice") { e.selfRegister(w.org, "zoe@acme.test", registration("acct-zoe2", "Zoe", "Zed")) }
    expectThrows<EnlistException.InvalidInput>("selfRegister without the names the policy asks") { e.selfRegister(w.org, "yan@acme.test", registration("acct-yan", null, null)) }
    e.close()
}

fun memberLifecycleScenario() {
    val w = newWorld { it.copy(seatLimits = mapOf("standard" to 4u)) }
    val e = w.engine
    val bob = w.join("bob@acme.test")
    val carol = w.join("carol@acme.test")
    val dave = Actor.Member(w.join("dave@acme.test").id)
    fun usage() = e.licenseUsage(w.org, w.owner).single { it.licenseType == "standard" }
    checkEq(usage(), LicenseUsage("standard", 4uL, 0uL, 4u), "licenseUsage: 4 of 4 seats used")
    denied("licenseUsage by an anonymous caller") { e.licenseUsage(w.org, Actor.Anonymous) }
    denied("listMembers by an anonymous caller") { e.listMembers(w.org, Actor.Anonymous, MemberQuery(sort = MemberSort.EMAIL_ASC)) }

    // Update.
    denied("updateMember by a plain member, before his promotion") { e.updateMember(w.org, Actor.Member(bob.id), carol.id, MemberUpdate(lastName = "Jones")) }
    val robert = e.updateMember(w.org, w.owner, bob.id, MemberUpdate(firstName = "Robert", role = "user_admin"))
    checkEq(listOf(robert.firstName, robert.lastName, robert.displayName(), robert.role), listOf("Robert", "Person", "Robert Person", "user_admin"), "updateMember: names and role")
    checkEq(e.member(w.org, w.owner, bob.id), robert, "updateMember: stored")
    checkEq(e.updateMember(w.org, Actor.Member(bob.id), carol.id, MemberUpdate(lastName = "Jones")).lastName, "Jones",
        "updateMember: the new role's rights apply (a user_admin manages members)")
    denied("updateMember by a plain member") { e.updateMember(w.org, dave, carol.id, MemberUpdate(role = "admin")) }
    denied("a user_admin making someone an admin") { e.updateMember(w.org, Actor.Member(bob.id), carol.id, MemberUpdate(role = "admin")) }
    checkEq(e.member(w.org, w.owner, carol.id).role, "member", "updateMember denied: unchanged")

    // Deactivate, the seat freed and taken, reactivate once one is free.
    denied("deactivateMember by a plain member") { e.deactivateMember(w.org, dave, carol.id) }
    checkEq(e.member(w.org, w.owner, carol.id).status, MemberStatus.ACTIVE, "deactivateMember denied: still active")
    checkEq(e.deactivateMember(w.org, w.owner, carol.id).status, MemberStatus.INACTIVE, "deactivateMember: inactive")
    checkEq(usage().used, 3uL, "deactivateMember: the seat is freed")
    val erin = w.join("erin@acme.test")
    checkEq(usage().used, 4uL, "the freed seat is taken")
    expectThrows<EnlistException.LimitExceeded>("reactivateMember with no free seat") { e.reactivateMember(w.org, w.owner, carol.id) }
    checkEq(e.member(w.org, w.owner, carol.id).status, MemberStatus.INACTIVE, "reactivateMember refused: still inactive")

    // Remove.
    denied("removeMember by a plain member") { e.removeMember(w.org, dave, erin.id) }
    val removed = e.removeMember(w.org, w.owner, erin.id)
    checkEq(removed.status to removed.removedAt, MemberStatus.REMOVED to w.clock.now, "removeMember: removed, when")
    checkEq(usage().used, 3uL, "removeMember: the seat is freed")
    checkEq(e.listMembers(w.org, w.owner, MemberQuery(sort = MemberSort.EMAIL_ASC, statuses = listOf(MemberStatus.REMOVED))).items.map { it.id }, listOf(erin.id), "listMembers: the removed member by status")
    expectThrows<EnlistException.Conflict>("reactivating a removed member") { e.reactivateMember(w.org, w.owner, erin.id) }

    denied("reactivateMember by a plain member") { e.reactivateMember(w.org, dave, carol.id) }
    checkEq(e.member(w.org, w.owner, carol.id).status, MemberStatus.INACTIVE, "reactivateMember denied: still inactive")
    checkEq(e.reactivateMember(w.org, w.owner, carol.id).status, MemberStatus.ACTIVE, "reactivateMember: active again")
    checkEq(usage(), LicenseUsage("standard", 4uL, 0uL, 4u), "licenseUsage: 4 of 4 again")
    e.close()
}

fun claimScenario() {
    val w = newWorld()
    val e = w.engine
    val other = e.createOrganization(NewOrganization(name = "Other", ownerUserRef = "acct-o", ownerEmail = "o@other.test", policy = defaultPolicy()))
    val a = w.issue("a@acme.test")
    val m1 = a.messageId!!
    val m2 = w.issue("b@acme.test").messageId!!
    val m3 = e.invite(other.organization.id, Actor.Member(other.owner.id), paste("c@other.test")).issued.single().messageId!!

    val claimed = e.claimDue(10u, w.org)
    checkEq(claimed.map { it.id }.toSet(), setOf(m1, m2), "claimDue(org): that organization's due messages")
    check(claimed.single { it.id == m1 }.email.acceptUrl.reveal().contains(a.secret!!.reveal()), "claimDue: the message holds the link to send")
    checkEq(e.claimDue(10u, w.org), emptyList<OutboxMessage>(), "claimDue again: claimed messages are held")
    checkEq(e.claimDue(10u).map { it.id }, listOf(m3), "claimDue(): every organization")

    checkEq(e.markSent(m1), true, "markSent: recorded")
    val sent = e.outboxMessage(m1)
    checkEq(sent.status to sent.sentAt, OutboxStatus.SENT to w.clock.now, "markSent: SENT, when")
    checkEq(e.markSent(m1), false, "markSent twice: no longer queued")

    checkEq(e.markFailed(m2, "451 try later", false), OutboxStatus.QUEUED, "markFailed: queued for a retry")
    val retry = e.outboxMessage(m2)
    check(retry.attempts == 1u && retry.lastError?.contains("451") == true && retry.nextAttemptAt > w.clock.now,
        "markFailed: an attempt, its error and a backoff (${retry.attempts}, ${retry.lastError}, ${retry.nextAttemptAt})")
    checkEq(e.claimDue(10u, w.org), emptyList<OutboxMessage>(), "claimDue: not before the backoff")
    w.clock.advance(Duration.ofHours(2))
    checkEq(e.claimDue(10u, w.org).map { it.id }, listOf(m2), "claimDue: after the backoff")
    checkEq(e.markFailed(m2, "550 no such user", true), OutboxStatus.FAILED, "markFailed(permanent): FAILED")
    checkEq(e.markFailed(m2, "again", true), null, "markFailed of a finished message: null")
    expectThrows<EnlistException.InvalidInput>("claimDue of 10,001 messages") { e.claimDue(10_001u) }
    checkEq(e.markSent(m3), true, "markSent: the other organization's message")
    e.close()
}

/** Email templates: saved per locale and checked, used by the next invitation with its HTML part, previewed with a placeholder link, refused without ManagePolicy. */
fun emailTemplatesScenario() {
    val w = newWorld()
    val e = w.engine
    val bob = Actor.Member(w.join("bob@acme.test").id)
    val fr = NewEmailTemplate(
        locale = "fr",
        subject = "Invitation à {{ organization }}",
        textBody = "Bonjour {{ recipient_name or '' }},\n{{ personal_message or '' }}\n{{ accept_url }}\nExpire le {{ expires_at }}",
        htmlBody = "<p>{{ recipient_name }}</p><a href=\"{{ accept_url }}\">Accepter</a>",
    )
    denied("setEmailTemplate by a plain member") { e.setEmailTemplate(w.org, bob, fr) }
    denied("emailTemplates by a plain member") { e.emailTemplates(w.org, bob) }
    val bad = expectThrows<EnlistException.InvalidInput>("setEmailTemplate without the link") {
        e.setEmailTemplate(w.org, w.owner, fr.copy(locale = "de", textBody = "Hallo"))
    }
    checkEq(bad?.facts?.get("field"), "template.text_body", "setEmailTemplate: names the part")
    val saved = e.setEmailTemplate(w.org, w.owner, fr)
    checkEq(saved.locale, "fr", "setEmailTemplate: saved")
    checkEq(e.emailTemplate(w.org, w.owner, "FR"), saved, "emailTemplate: by locale")
    checkEq(e.emailTemplates(w.org, w.owner).map { it.locale }, listOf("fr"), "emailTemplates: listed")
    val settings = e.setEmailSettings(w.org, w.owner, "fr-ca", "Bienvenue !")
    checkEq(settings.defaultLocale, "fr-CA", "setEmailSettings: normalized locale")
    checkEq(e.emailSettings(w.org, w.owner), settings, "emailSettings: stored")

    val issued = w.issue("dana@acme.test")
    val msg = e.claimDue(10u, w.org).single { it.id == issued.messageId }
    checkEq(msg.email.subject, "Invitation à Acme", "the French template's subject")
    check(msg.email.textBody.reveal().contains("Bienvenue !"), "the default message in the text")
    val html = msg.email.htmlBody?.reveal()
    check(html != null && html.contains("href=\"${msg.email.acceptUrl.reveal()}\""), "the HTML part crosses, a Secret holding the link")

    val preview = e.previewEmail(w.org, w.owner, null, null, issued.invitation.id)
    checkEq(preview.templateLocale, "fr", "previewEmail: fr-CA falls back to fr")
    check(!preview.textBody.contains(issued.secret!!.reveal()) && preview.textBody.contains("PREVIEW-NOT-A-REAL-TOKEN"),
        "previewEmail: a placeholder link, never the live token")
    check(preview.htmlBody?.contains("Accepter") == true, "previewEmail: the HTML part")
    val proposed = e.previewEmail(w.org, w.owner, "es", fr.copy(locale = "es", subject = "Hola {{ recipient_name }}"), null)
    checkEq(proposed.subject, "Hola Dana Doe", "previewEmail: a proposed template with sample data")
    checkEq(e.deleteEmailTemplate(w.org, w.owner, "fr"), true, "deleteEmailTemplate: there was one")
    checkEq(e.deleteEmailTemplate(w.org, w.owner, "fr"), false, "deleteEmailTemplate: no more")
    e.close()
}
