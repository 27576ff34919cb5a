// The Kotlin bindings on the JVM, against the built libenlist_ffi: run by
// scripts/test-uniffi.sh. Prints one line per check and exits non-zero when
// any check fails (or anything unexpected is thrown).
//
// Usage: java ... EnlistTestKt <scratch-dir>
//
// The checks call the library through recording wrappers (Parity.kt): the
// program also fails when an exported function is called by no check.
// CommandsTest.kt holds a check (and a denial) for each command family.

import enlist.*
import enlist.core.*
import java.io.File
import java.io.IOException
import java.time.Duration
import java.time.Instant
import kotlin.system.exitProcess

var checks = 0
var failures = 0

fun check(ok: Boolean, what: String) {
    checks++
    if (ok) {
        println("ok   $what")
    } else {
        failures++
        println("FAIL $what")
    }
}

fun <T> checkEq(actual: T, expected: T, what: String) =
    check(actual == expected, if (actual == expected) what else "$what: expected <$expected>, got <$actual>")

/** Runs [block], which must throw an [E]; returns it (or null after recording a failure). */
inline fun <reified E : Throwable> expectThrows(what: String, block: () -> Unit): E? {
    try {
        block()
    } catch (thrown: Throwable) {
        val e = unwrap(thrown)
        if (e is E) {
            check(true, "$what throws ${e::class.simpleName}")
            return e
        }
        check(false, "$what: expected ${E::class.simpleName}, got ${e::class.qualifiedName}: ${e.message}")
        return null
    }
    check(false, "$what: expected ${E::class.simpleName}, nothing thrown")
    return null
}

/** A clock the test moves: the engine reads the time from Kotlin. */
class TestClock(var now: Instant) : Clock {
    var reads = 0
    override fun now(): Instant {
        Parity.record("clock.now")
        reads++
        return now
    }
    fun advance(by: Duration) {
        now = now.plus(by)
    }
}

/** A mailer that records what it is handed, or fails on demand. */
class TestMailer : Mailer {
    val sent = mutableListOf<OutgoingEmail>()
    val failures = ArrayDeque<Exception>()
    var calls = 0
    override fun send(email: OutgoingEmail) {
        Parity.record("mailer.send")
        calls++
        failures.removeFirstOrNull()?.let { throw it }
        sent.add(email)
    }
}

fun paste(text: String, message: String? = null) =
    InviteRequest(kind = MemberKind.MEMBER, recipients = Recipients.Paste(text), message = message)

fun registration(user: String, first: String?, last: String?) =
    Registration(userRef = user, firstName = first, lastName = last)

fun emailOf(c: Contact): String? = (c as? Contact.Email)?.address

fun memoryScenario() {
    val t0 = Instant.parse("2026-01-05T09:00:00Z")
    val clock = TestClock(t0)
    val engine = inMemory(clock = clock)

    // -- Create an organization ------------------------------------------
    val created = engine.createOrganization(
        NewOrganization(
            policy = defaultPolicy(),
            name = "Acme",
            ownerUserRef = "acct-ada",
            ownerEmail = "ada@acme.test",
            ownerFirstName = "Ada",
            ownerLastName = "Lovelace",
        )
    )
    val org = created.organization.id
    val owner = Actor.Member(created.owner.id)
    checkEq(created.organization.name, "Acme", "organization created")
    checkEq(created.organization.createdAt, t0, "createdAt is the Kotlin clock's time (java.time.Instant)")
    checkEq(created.owner.role, "owner", "founder is an owner")
    checkEq(created.owner.displayName(), "Ada Lovelace", "owner's display name")
    check(clock.reads > 0, "the engine read the Kotlin clock")

    // -- Invite by paste ---------------------------------------------------
    val pasted = engine.invite(org, owner, paste("bob@acme.test, Carol <carol@acme.test>; not-an-address", "Welcome!"))
    checkEq(pasted.issued.size, 2, "paste: two invitations issued")
    checkEq(pasted.rejected.size, 1, "paste: one recipient rejected")
    // code() and message() are core's methods on the record: the record,
    // address error included, crosses back to Rust to compute them.
    checkEq(pasted.rejected.firstOrNull()?.code(), "invalid_address", "paste: rejection code")
    check(pasted.rejected.firstOrNull()?.message()?.contains("@") == true, "paste: rejection message, for people")
    checkEq((pasted.rejected.firstOrNull()?.reason as? RejectReason.InvalidAddress)?.error?.code, "missing_at", "paste: the address error's code")
    check(pasted.rejected.firstOrNull()?.reason is RejectReason.InvalidAddress, "paste: rejection reason is InvalidAddress")
    checkEq(pasted.issued.map { emailOf(it.invitation.recipient) }, listOf("bob@acme.test", "carol@acme.test"), "paste: recipients in input order")
    checkEq(pasted.issued[1].invitation.displayName, "Carol", "paste: display name kept")
    checkEq(pasted.issued.map { it.warnings }, listOf(emptyList<AddressWarning>(), emptyList<AddressWarning>()), "paste: no warnings on plain addresses")
    check(pasted.issued.all { it.secret != null && it.messageId != null }, "paste: each invitation has its secret and queued email")
    checkEq(pasted.issued[0].invitation.expiresAt, t0.plus(Duration.ofDays(7)), "paste: expires in 7 days by the Kotlin clock")
    val pastedCsv = pasted.csv()
    check(pastedCsv.lines().size >= 4 && pastedCsv.contains("invalid_address"), "paste: CSV report")
    val bobInvitation = pasted.issued[0].invitation
    val carolInvitation = pasted.issued[1].invitation

    // -- Invite by list ----------------------------------------------------
    val listed = engine.invite(
        org, owner,
        InviteRequest(
            recipients = Recipients.Rows(
                listOf(
                    RecipientInput(email = "dave@acme.test", firstName = "Dave"),
                    RecipientInput(identifier = "EMP-0042", firstName = "Erin", lastName = "Stone"),
                    RecipientInput(email = "BOB@acme.test"),
                )
            ),
            kind = MemberKind.MEMBER,
        )
    )
    checkEq(listed.issued.size, 2, "list: two invitations issued")
    val dup = listed.rejected.singleOrNull()
    checkEq(dup?.code(), "already_invited", "list: Bob is already invited")
    checkEq((dup?.reason as? RejectReason.AlreadyInvited)?.invitationId, bobInvitation.id, "list: rejection names Bob's invitation")
    val erinIssued = listed.issued.first { it.invitation.recipient is Contact.Identifier }
    val erinCode = erinIssued.secret?.reveal()
    check(erinCode?.matches(Regex("[0-9A-Z]{5}-[0-9A-Z]{5}")) == true, "list: identifier invitation gets an XXXXX-XXXXX access code")

    // -- Secrets never print -------------------------------------------------
    // Records are data classes: their toString prints every field. Secrets
    // cross as Secret objects, which print as Secret(***).
    val bobIssued = pasted.issued[0]
    val bobToken = bobIssued.secret!!.reveal()
    check(bobToken.startsWith("org_") && bobToken.length > 40, "expose(): the token")
    check(!bobIssued.toString().contains(bobToken), "IssuedInvitation.toString() holds no token")
    check(bobIssued.toString().contains("Secret(***)"), "IssuedInvitation.toString() shows Secret(***)")
    check(!erinIssued.toString().contains(erinCode!!), "IssuedInvitation.toString() holds no access code")
    check(!pasted.toString().contains(bobToken), "InviteReport.toString() holds no token")
    check(!listed.toString().contains(erinCode), "InviteReport.toString() holds no access code")
    checkEq(bobIssued.secret.toString(), "Secret(***)", "Secret.toString()")

    // -- List invitations --------------------------------------------------
    val pending = engine.listInvitations(org, owner, InvitationQuery(statuses = listOf(InvitationStatus.PENDING)))
    checkEq(pending.items.size, 4, "listInvitations: four pending")
    checkEq(pending.items.map { it.recipientKey }.toSet(), setOf("bob@acme.test", "carol@acme.test", "dave@acme.test", "emp0042"), "listInvitations: recipient keys")
    checkEq(pending.nextCursor, null, "listInvitations: one page")
    val page1 = engine.listInvitations(org, owner, InvitationQuery(limit = 3u))
    val page2 = engine.listInvitations(org, owner, InvitationQuery(limit = 3u, after = page1.nextCursor))
    checkEq((page1.items + page2.items).map { it.id }.toSet().size, 4, "listInvitations: pages join up")

    // -- A Kotlin Mailer called back ---------------------------------------
    val mailer = TestMailer()
    val delivered = engine.deliverPending(mailer, 100u)
    checkEq(delivered.sent.size, 3, "deliverPending: three emails sent (the identifier has none)")
    checkEq(mailer.sent.map { it.to }.toSet(), setOf("bob@acme.test", "carol@acme.test", "dave@acme.test"), "Kotlin mailer received the emails")
    val toBob = mailer.sent.first { it.to == "bob@acme.test" }
    val toCarol = mailer.sent.first { it.to == "carol@acme.test" }
    checkEq(toBob.orgName, "Acme", "email: organization name")
    checkEq(toBob.inviterName, "Ada Lovelace", "email: inviter name")
    checkEq(toBob.replyTo, null, "email: no Reply-To unless the policy has replyToInviter")
    checkEq(toBob.personalMessage, "Welcome!", "email: personal message")
    checkEq(toCarol.toName, "Carol", "email: recipient name")
    val bobUrl = toBob.acceptUrl.reveal()
    check(bobUrl.contains(org) && toBob.textBody.reveal().contains(bobUrl), "email: accept URL with token, in the body")
    check(!toBob.toString().contains(bobUrl) && !toBob.toString().contains(bobToken), "OutgoingEmail.toString() holds no link or token")
    val bobMessage = engine.outboxMessage(toBob.messageId)
    check(!bobMessage.toString().contains(bobToken), "OutboxMessage.toString() holds no token")
    checkEq(engine.outboxMessage(toBob.messageId).status, OutboxStatus.SENT, "outbox: delivered message is SENT")

    // -- Preview and accept ------------------------------------------------
    val preview = engine.preview(bobUrl)
    checkEq(preview.orgName, "Acme", "preview: organization")
    checkEq(preview.inviterName, "Ada Lovelace", "preview: inviter")
    check(preview.requirements.firstName && preview.requirements.lastName, "preview: names required")

    val incomplete = expectThrows<EnlistException.InvalidInput>("accept without names") {
        engine.accept(bobUrl, registration("acct-bob", null, null))
    }
    checkEq(incomplete?.code, "registration_incomplete", "accept without names: code")
    checkEq(incomplete?.facts?.get("missing")?.split(",")?.toSet(), setOf("first_name", "last_name"), "accept without names: missing fields")
    check(incomplete?.errorMessage?.contains("first_name") == true, "accept without names: errorMessage")
    checkEq(incomplete?.toString(), incomplete?.errorMessage, "exception toString() is the Rust message")

    val bob = engine.accept(bobUrl, registration("acct-bob", "Bob", "Smith"))
    checkEq(emailOf(bob.member.contact), "bob@acme.test", "accept: member's email")
    checkEq(bob.member.status, MemberStatus.ACTIVE, "accept: member is active")
    checkEq(bob.member.role, "member", "accept: member role")
    checkEq(bob.invitation.status, InvitationStatus.ACCEPTED, "accept: invitation accepted")
    checkEq(bob.invitation.memberId, bob.member.id, "accept: invitation points at the member")

    val twice = expectThrows<EnlistException.Conflict>("accepting twice") {
        engine.accept(bobUrl, registration("acct-bob", "Bob", "Smith"))
    }
    checkEq(twice?.code, "invitation_not_open", "accepting twice: code")
    checkEq(twice?.facts?.get("invitation"), bobInvitation.id, "accepting twice: names the invitation")
    checkEq(twice?.facts?.get("status"), "accepted", "accepting twice: the status, by its wire name")

    val wrongCode = expectThrows<EnlistException.NotFound>("wrong access code") {
        engine.acceptWithCode(org, "emp 0042", "0000000000", registration("acct-erin", "Erin", "Stone"))
    }
    checkEq(wrongCode?.code, "invalid_secret", "wrong access code: code")
    val erin = engine.acceptWithCode(org, "emp 0042", erinCode!!, registration("acct-erin", "Erin", "Stone"))
    checkEq((erin.member.contact as? Contact.Identifier)?.identifier, "EMP-0042", "acceptWithCode: member by identifier")

    expectThrows<EnlistException.NotFound>("accept with a made-up token") {
        engine.accept("not a token", registration("x", "X", "Y"))
    }?.let { checkEq(it.code, "invalid_secret", "made-up token: code") }

    // -- List members ------------------------------------------------------
    val members = engine.listMembers(org, owner, MemberQuery(sort = MemberSort.EMAIL_ASC))
    checkEq(members.items.map { it.contactKey }, listOf("ada@acme.test", "bob@acme.test", "emp0042"), "listMembers: sorted by email")
    checkEq(engine.listMembers(org, owner, MemberQuery(sort = MemberSort.EMAIL_ASC, search = "bob")).items.map { it.id }, listOf(bob.member.id), "listMembers: search")

    // -- Errors as Kotlin exceptions, and nothing changed --------------------
    val bobActor = Actor.Member(bob.member.id)
    val before = engine.listInvitations(org, owner, InvitationQuery()).items.size
    val denied = expectThrows<EnlistException.PermissionDenied>("a plain member inviting") {
        engine.invite(org, bobActor, paste("mallory@acme.test"))
    }
    checkEq(denied?.code, "permission_denied", "permission denied: code")
    checkEq(denied?.facts?.get("permission"), "invite_members", "permission denied: names the permission")
    checkEq(engine.listInvitations(org, owner, InvitationQuery()).items.size, before, "permission denied: nothing stored")
    val stranger = expectThrows<EnlistException.PermissionDenied>("an actor who is no member of the organization") {
        engine.invite(org, Actor.Member("mem_nobody"), paste("mallory@acme.test"))
    }
    checkEq(stranger?.code, "not_a_member", "not a member: its own code")
    checkEq(stranger?.facts?.get("organization"), org, "not a member: names the organization")

    val notFound = expectThrows<EnlistException.NotFound>("an unknown organization") {
        engine.organization("org_missing")
    }
    checkEq(notFound?.facts?.get("entity"), "organization", "not found: entity")
    checkEq(notFound?.facts?.get("id"), "org_missing", "not found: id")

    val tooBig = expectThrows<EnlistException.LimitExceeded>("a page of 5000") {
        engine.listMembers(org, owner, MemberQuery(sort = MemberSort.EMAIL_ASC, limit = 5000u))
    }
    checkEq(tooBig?.facts?.get("limit"), "page_size", "limit exceeded: which limit")
    checkEq(tooBig?.facts?.get("max")?.toULong(), 1000uL, "limit exceeded: the maximum")

    val badTime = expectThrows<EnlistException.InvalidInput>("recordActivity at Instant.MAX") {
        engine.recordActivity(org, bob.member.id, Instant.MAX)
    }
    checkEq(badTime?.facts?.get("field"), "at", "out-of-range time: field")
    checkEq(engine.member(org, owner, bob.member.id).lastActiveAt, null, "out-of-range time: nothing recorded")
    val seen = t0.plusSeconds(30)
    engine.recordActivity(org, bob.member.id, seen)
    checkEq(engine.member(org, owner, bob.member.id).lastActiveAt, seen, "recordActivity: Instant round-trips")

    // -- A failing Kotlin Mailer is retried per the outbox -------------------
    val frank = engine.invite(org, owner, paste("frank@acme.test")).issued.single()
    val frankMessage = frank.messageId!!
    mailer.failures.add(IOException("backend unreachable"))
    val r1 = engine.deliverPending(mailer, 10u)
    checkEq(r1.retrying, listOf(frankMessage), "failing mailer: message will be retried")
    checkEq(r1.sent, emptyList<String>(), "failing mailer: nothing sent")
    val m1 = engine.outboxMessage(frankMessage)
    checkEq(m1.status, OutboxStatus.QUEUED, "failing mailer: still queued")
    checkEq(m1.attempts, 1u, "failing mailer: one attempt")
    check(m1.lastError?.contains("backend unreachable") == true, "failing mailer: the Kotlin exception's message is recorded (${m1.lastError})")
    check(m1.lastError?.contains("EnlistTest") == false && m1.lastError?.contains(".kt") == false,
        "failing mailer: no Kotlin stack frame reaches the outbox (${m1.lastError})")
    val backoff = Duration.between(clock.now, m1.nextAttemptAt)
    check(backoff > Duration.ofSeconds(45) && backoff <= Duration.ofSeconds(60), "failing mailer: retry after 60 s less its jitter ($backoff)")

    val callsBefore = mailer.calls
    val early = engine.deliverPending(mailer, 10u)
    check(early.sent.isEmpty() && early.retrying.isEmpty() && mailer.calls == callsBefore, "failing mailer: not retried before the backoff")

    clock.advance(Duration.ofSeconds(61))
    mailer.failures.add(MailException.Temporary("503 try later"))
    val r2 = engine.deliverPending(mailer, 10u)
    checkEq(r2.retrying, listOf(frankMessage), "MailException.Temporary: retried again")
    checkEq(engine.outboxMessage(frankMessage).attempts, 2u, "MailException.Temporary: two attempts")

    clock.advance(Duration.ofSeconds(121))
    val r3 = engine.deliverPending(mailer, 10u)
    checkEq(r3.sent, listOf(frankMessage), "after the backoff: delivered")
    checkEq(mailer.sent.last().messageId, frankMessage, "after the backoff: same message id (idempotency key)")

    val gina = engine.invite(org, owner, paste("gina@acme.test")).issued.single()
    mailer.failures.add(MailException.Permanent("no such mailbox"))
    val r4 = engine.deliverPending(mailer, 10u)
    checkEq(r4.failed, listOf(gina.messageId!!), "MailException.Permanent: given up")
    checkEq(engine.outboxMessage(gina.messageId!!).status, OutboxStatus.FAILED, "MailException.Permanent: FAILED")

    // -- The Kotlin clock drives expiry ---------------------------------------
    clock.advance(Duration.ofDays(8))
    checkEq(engine.invitation(org, owner, carolInvitation.id).status, InvitationStatus.EXPIRED, "expiry: Carol's invitation expired by the Kotlin clock")
    val expired = expectThrows<EnlistException.Expired>("accepting an expired invitation") {
        engine.accept(toCarol.acceptUrl.reveal(), registration("acct-carol", "Carol", "Jones"))
    }
    checkEq(expired?.code, "invitation_expired", "expired: code")
    checkEq(expired?.facts?.get("expired_at")?.let { Instant.parse(it) }, t0.plus(Duration.ofDays(7)), "expired: when")
    val dueNow = engine.listInvitations(org, owner, InvitationQuery(statuses = listOf(InvitationStatus.EXPIRED))).items.size
    check(dueNow >= 2, "expiry: several invitations are expired now ($dueNow)")
    checkEq(engine.expireDue(clock.now), dueNow.toULong(), "expireDue persists exactly those")
    checkEq(engine.expireDue(clock.now), 0uL, "expireDue again: nothing left")
    val resent = engine.resend(org, owner, carolInvitation.id)
    checkEq(resent.invitation.status, InvitationStatus.PENDING, "resend: pending again")
    checkEq(resent.invitation.sendCount, 2u, "resend: second send")
    checkEq(resent.invitation.expiresAt, clock.now.plus(Duration.ofDays(7)), "resend: new expiry from the Kotlin clock")

    // -- Invitation link -----------------------------------------------------
    val policy = engine.organization(org).policy.copy(inviteLinkEnabled = true)
    engine.updatePolicy(org, owner, policy)
    val link = engine.activateInviteLink(org, owner, LinkSpec(kind = MemberKind.MEMBER))
    val linkUrl = link.url.reveal()
    check(link.link.active && linkUrl.contains(org), "invite link activated")
    check(!link.toString().contains(linkUrl.substringAfterLast('/')), "ActivatedLink.toString() holds no link secret")
    val hank = engine.joinByLink(linkUrl, "hank@acme.test", registration("acct-hank", "Hank", "Hill"))
    checkEq(hank.contactKey, "hank@acme.test", "joined by link")
    checkEq(engine.inviteLink(org, owner)?.uses, 1uL, "link counts its use")

    // -- Groups and import ------------------------------------------------
    val sales = engine.createGroup(org, owner, NewGroup(name = "Sales"))
    engine.addGroupMember(org, owner, sales.id, bob.member.id)
    checkEq(engine.group(org, owner, sales.id).memberCount, 1uL, "group: member added")
    val csv = "Email,First name,Last name,Groups\nivy@acme.test,Ivy,Lee,Sales\nnot-an-email,X,Y,\n"
    val imported = engine.importInvitations(org, owner, csv.toByteArray(), ImportFormat.CSV, ImportDefaults(kind = MemberKind.MEMBER))
    checkEq(imported.issued().map { it.line }, listOf(2u), "import: line 2 issued")
    checkEq(imported.issued().firstOrNull()?.issued?.invitation?.groups?.map { it.groupId }, listOf(sales.id), "import: group by name")
    checkEq(imported.rejected().map { it.line to it.code() }, listOf(3u to "invalid_address"), "import: line 3 rejected")
    checkEq(imported.failedCount(), 1u, "import: one row failed")
    checkEq(imported.issued().map { it.batch } to imported.batches.size, listOf(0u) to 1, "import: one batch, line 2 issued in it")
    check(imported.csv().lines().any { it.startsWith("3,") && it.contains("invalid_address") }, "import: CSV report, one row per line")

    // -- Paste box -----------------------------------------------------------
    val text = "José <jose@acme.test>, bob at acme.test\nada@acme.test; ADA@acme.test"
    val parsed = parseRecipients(text)
    checkEq(parsed.recognized, 2u, "parseRecipients: two recognized")
    check(parsed.entries.all { text.substring(it.startUtf16.toInt(), it.endUtf16.toInt()) == it.text }, "parseRecipients: UTF-16 offsets slice Kotlin strings")
    checkEq((parsed.entries[1].outcome as? EntryOutcome.Invalid)?.code, "missing_at", "parseRecipients: invalid entry code")
    checkEq((parsed.entries[3].outcome as? EntryOutcome.Duplicate)?.first, 2u, "parseRecipients: duplicate of entry 2")
    val idnWarnings = (parseRecipients("ada@exämple.test").entries.single().outcome as? EntryOutcome.Valid)?.mailbox?.warnings.orEmpty()
    checkEq(idnWarnings.map { it.code }, listOf("international_domain"), "parseRecipients: an AddressWarning has its code")
    check(idnWarnings.all { it.message.isNotBlank() }, "parseRecipients: an AddressWarning has its message")

    // -- Audit trail ---------------------------------------------------------
    val events = engine.events(org, owner, 0uL, 1000u)
    checkEq((events.first().kind as? EventKind.OrganizationCreated)?.name, "Acme", "events: first is OrganizationCreated")
    check(events.any { (it.kind as? EventKind.EmailFailed)?.gaveUp == true }, "events: the given-up email is audited")
    checkEq(events.map { it.seq }, (1..events.size).map { it.toULong() }, "events: numbered from 1")

    engine.close()
}

fun sqliteScenario(dir: File) {
    val path = File(dir, "enlist.sqlite3").absolutePath
    val clock = TestClock(Instant.parse("2026-02-01T08:00:00Z"))
    val (orgId, token) = openSqlite(path, clock = clock).use { engine ->
        val created = engine.createOrganization(NewOrganization(name = "Acme Files", ownerUserRef = "acct-ada", ownerEmail = "ada@acme.test", policy = defaultPolicy()))
        val report = engine.invite(created.organization.id, Actor.Member(created.owner.id), paste("bob@acme.test"))
        created.organization.id to report.issued.single().secret!!.reveal()
    }
    check(File(path).length() > 0, "sqlite: the database file exists")
    openSqlite(path, clock = clock).use { engine ->
        checkEq(engine.organization(orgId).name, "Acme Files", "sqlite reopened: organization kept")
        val invitations = engine.listInvitations(orgId, Actor.System, InvitationQuery())
        checkEq(invitations.items.map { it.recipientKey }, listOf("bob@acme.test"), "sqlite reopened: invitation kept")
        val accepted = engine.accept(token, registration("acct-bob", "Bob", "Smith"))
        checkEq(accepted.member.orgId, orgId, "sqlite reopened: accept with the token issued before")
    }
    openSqlite(path).use { engine ->
        checkEq(engine.listMembers(orgId, Actor.System, MemberQuery(sort = MemberSort.EMAIL_ASC)).items.size, 2, "sqlite reopened twice: the new member is there")
    }
    // The counters the store keeps (seats, owners, group sizes) match a
    // recount of the rows it wrote: nothing to report, nothing to repair.
    // (A file changed around the store is found and repaired in the Rust
    // and Python tests, which can write SQL to it.)
    checkEq(sqliteVerifyCounts(path), emptyList<SqliteCountMismatch>(), "sqliteVerifyCounts: the store's own writes keep the counters right")
    checkEq(sqliteRepairCounts(path), emptyList<SqliteCountMismatch>(), "sqliteRepairCounts: nothing to change")
    val notOurs = File(dir, "notes.txt").apply { writeText("not a database, only some text long enough to be read as a header".repeat(20)) }
    expectThrows<EnlistException.Storage>("sqliteVerifyCounts of a file that is not a database") {
        sqliteVerifyCounts(notOurs.absolutePath)
    }
    check(notOurs.readText().startsWith("not a database"), "sqliteVerifyCounts: a foreign file is left as it was")
    val bad = expectThrows<EnlistException.Storage>("opening a database in a missing folder") {
        openSqlite(File(dir, "missing/x.sqlite3").absolutePath)
    }
    checkEq(bad?.code, "storage", "bad path: code")
}

// -- Issue 10: the core security API, attacked and used from Kotlin ---------

val KEY_A = ByteArray(32) { it.toByte() }
val KEY_B = ByteArray(32) { (it + 1).toByte() }
const val BASE = "https://app.acme.test/accept"
const val EU_BASE = "https://eu.acme.test/accept"

/** An engine with an organization, its owner and helpers to add members. */
class SecurityWorld(val engine: Engine, val clock: TestClock) {
    val created = engine.createOrganization(
        NewOrganization(name = "Acme", ownerUserRef = "acct-ada", ownerEmail = "ada@acme.test", policy = defaultPolicy(), ownerFirstName = "Ada", ownerLastName = "L")
    )
    val org = created.organization.id
    val owner = Actor.Member(created.owner.id)

    fun issue(email: String, role: String? = null, actor: Actor = owner, send: Boolean = true): IssuedInvitation =
        engine.invite(org, actor, InviteRequest(kind = MemberKind.MEMBER, recipients = Recipients.Rows(listOf(RecipientInput(email = email))), role = role, send = send)).issued.single()

    fun join(email: String, role: String? = null): Member {
        val issued = issue(email, role)
        return engine.accept(issued.secret!!.reveal(), registration("acct-" + email.substringBefore('@'), "Test", "Person")).member
    }
}

fun newWorld(policy: (Policy) -> Policy = { it }): SecurityWorld {
    val clock = TestClock(Instant.parse("2026-03-02T09:00:00Z"))
    val config = defaultEngineConfig().copy(defaultAcceptUrlBase = BASE, allowedAcceptUrlBases = listOf(EU_BASE))
    val w = SecurityWorld(inMemory(clock = clock, config = config, secretKey = KEY_A), clock)
    w.engine.updatePolicy(w.org, w.owner, policy(w.engine.organization(w.org).policy))
    return w
}

fun secretKeyScenario(dir: File) {
    val path = File(dir, "keyed.sqlite3").absolutePath
    val clock = TestClock(Instant.parse("2026-03-01T09:00:00Z"))
    val a = openSqlite(path, clock = clock, secretKey = KEY_A)
    val created = a.createOrganization(NewOrganization(name = "Acme", ownerUserRef = "acct-ada", ownerEmail = "ada@acme.test", policy = defaultPolicy()))
    val org = created.organization.id
    val rows = listOf(RecipientInput(identifier = "EMP-1"), RecipientInput(identifier = "EMP-2"))
    val issued = a.invite(org, Actor.Member(created.owner.id), InviteRequest(kind = MemberKind.MEMBER, recipients = Recipients.Rows(rows))).issued
    val code1 = issued[0].secret!!.reveal()
    val code2 = issued[1].secret!!.reveal()
    openSqlite(path, clock = clock, secretKey = KEY_B).use { b ->
        val refused = expectThrows<EnlistException.NotFound>("secretKey: another key refuses a code issued under the first") {
            b.acceptWithCode(org, "EMP-1", code1, registration("acct-one", "One", "X"))
        }
        checkEq(refused?.code, "invalid_secret", "secretKey: another key: invalid_secret")
    }
    openSqlite(path, clock = clock).use { none ->
        expectThrows<EnlistException.NotFound>("secretKey: no key refuses a keyed code") {
            none.acceptWithCode(org, "EMP-2", code2, registration("acct-two", "Two", "X"))
        }
    }
    checkEq(a.acceptWithCode(org, "EMP-1", code1, registration("acct-one", "One", "X")).invitation.status, InvitationStatus.ACCEPTED, "secretKey: the same key accepts the code")
    a.close()
    openSqlite(path, clock = clock, secretKey = KEY_A).use { again ->
        checkEq(again.acceptWithCode(org, "EMP-2", code2, registration("acct-two", "Two", "X")).invitation.status, InvitationStatus.ACCEPTED, "secretKey: a new engine with the key accepts too")
    }

    val never = File(dir, "never.sqlite3")
    for (short in listOf(ByteArray(0), ByteArray(31))) {
        val e1 = expectThrows<EnlistException.InvalidInput>("secretKey of ${short.size} bytes: inMemory") { inMemory(secretKey = short) }
        checkEq(e1?.facts?.get("field"), "secret_key", "short secretKey: field")
        expectThrows<EnlistException.InvalidInput>("secretKey of ${short.size} bytes: openSqlite") { openSqlite(never.absolutePath, secretKey = short) }
    }
    check(!never.exists(), "short secretKey: refused before the database is created")
}

fun configScenario(dir: File) {
    val never = File(dir, "never-config.sqlite3")
    val d = defaultEngineConfig()
    val bad = listOf(
        d.copy(productName = "Acme\r\nBcc: spy@evil.test") to "product_name",
        d.copy(defaultAcceptUrlBase = "http://app.acme.test/accept") to "default_accept_url_base",
        d.copy(defaultAcceptUrlBase = "ftp://app.acme.test/accept") to "default_accept_url_base",
        d.copy(defaultAcceptUrlBase = "https://app.acme.test@evil.test/") to "default_accept_url_base",
        d.copy(allowedAcceptUrlBases = listOf("http://eu.acme.test/accept")) to "allowed_accept_url_bases",
        d.copy(retry = d.retry.copy(claimSecs = 10_000_000_000uL)) to "retry.claim_secs",
        d.copy(retry = d.retry.copy(maxDelaySecs = ULong.MAX_VALUE)) to "retry.max_delay_secs",
        d.copy(retry = d.retry.copy(maxAttempts = 0u)) to "retry.max_attempts",
    )
    for ((config, field) in bad) {
        val e = expectThrows<EnlistException.InvalidInput>("bad config ($field): inMemory") { inMemory(config = config) }
        checkEq(e?.facts?.get("field"), field, "bad config ($field): the field is named")
        expectThrows<EnlistException.InvalidInput>("bad config ($field): openSqlite") { openSqlite(never.absolutePath, config = config) }
    }
    check(!never.exists(), "bad config: refused before the database is created")

    // The host owns the accept bases: a policy may only choose among them.
    val w = newWorld()
    val policy = w.engine.organization(w.org).policy
    for (foreign in listOf("https://evil.test/collect", "$EU_BASE/", "http://localhost/x")) {
        val e = expectThrows<EnlistException.InvalidInput>("updatePolicy with accept base $foreign") {
            w.engine.updatePolicy(w.org, w.owner, policy.copy(acceptUrlBase = foreign))
        }
        checkEq(e?.facts?.get("field"), "accept_url_base", "foreign accept base: field")
    }
    checkEq(w.engine.organization(w.org).policy, policy, "foreign accept base: nothing changed")
    w.engine.updatePolicy(w.org, w.owner, policy.copy(acceptUrlBase = EU_BASE))
    w.issue("bob@acme.test")
    val mailer = TestMailer()
    w.engine.deliverPending(mailer, 10u)
    check(mailer.sent.single().acceptUrl.reveal().startsWith("$EU_BASE?token="), "an allowed accept base is used in the email")
    w.engine.close()
}

fun outboxAndLockScenario() {
    val w = newWorld()
    val e = w.engine
    val mia = w.join("mia@acme.test")
    val bob = w.issue("bob@acme.test")
    val token = bob.secret!!.reveal()
    val messageId = bob.messageId!!
    val denied = expectThrows<EnlistException.PermissionDenied>("outboxMessageIn by a member without ManageOutbox") {
        e.outboxMessageIn(w.org, Actor.Member(mia.id), messageId)
    }
    checkEq(denied?.facts?.get("permission"), "manage_outbox", "outboxMessageIn: names ManageOutbox")
    expectThrows<EnlistException.PermissionDenied>("outboxMessageIn by an anonymous caller") {
        e.outboxMessageIn(w.org, Actor.Anonymous, messageId)
    }
    val other = e.createOrganization(NewOrganization(name = "Other", ownerUserRef = "acct-o", ownerEmail = "o@other.test", policy = defaultPolicy()))
    expectThrows<EnlistException.NotFound>("outboxMessageIn: another organization's message") {
        e.outboxMessageIn(other.organization.id, Actor.Member(other.owner.id), messageId)
    }
    for (msg in listOf(e.outboxMessageIn(w.org, w.owner, messageId), e.outboxMessage(messageId))) {
        checkEq(msg.email.acceptUrl.reveal(), "[redacted]", "outbox read: no live link")
        check(!msg.email.textBody.reveal().contains(token), "outbox read: no token in the body")
    }
    val mailer = TestMailer()
    e.deliverPending(mailer, 10u)
    check(mailer.sent.any { it.acceptUrl.reveal().contains(token) }, "outbox read redacted nothing stored: the worker sends the link")

    // Wrong access codes: the same answer every time, and a temporary lock.
    val emp = e.invite(w.org, w.owner, InviteRequest(kind = MemberKind.MEMBER, recipients = Recipients.Rows(listOf(RecipientInput(identifier = "EMP-9", firstName = "E", lastName = "N")))))
        .issued.single()
    val code = emp.secret!!.reveal()
    val attempts = e.organization(w.org).policy.accessCodeAttempts.toInt()
    val codes = (0 until attempts).map {
        try {
            e.acceptWithCode(w.org, "EMP-9", "00000-00000", registration("acct-x", "X", "Y")); "accepted"
        } catch (t: Throwable) {
            when (val x = unwrap(t)) {
                is EnlistException.NotFound -> x.code
                is EnlistException -> "${x::class.simpleName}"
                else -> throw x
            }
        }
    }
    checkEq(codes.toSet(), setOf("invalid_secret"), "wrong codes: invalid_secret every time")
    val locked = e.invitation(w.org, w.owner, emp.invitation.id)
    checkEq(locked.status, InvitationStatus.PENDING, "wrong codes: locked, not revoked")
    check(locked.lockedUntil != null && locked.lockedUntil!! > w.clock.now, "wrong codes: lockedUntil in the future (${locked.lockedUntil})")
    val whileLocked = expectThrows<EnlistException.NotFound>("the right code while locked") {
        e.acceptWithCode(w.org, "EMP-9", code, registration("acct-emp", "E", "N"))
    }
    checkEq(whileLocked?.code, "invalid_secret", "the right code while locked: invalid_secret")
    w.clock.now = locked.lockedUntil!!
    val accepted = e.acceptWithCode(w.org, "EMP-9", code, registration("acct-emp", "E", "N"))
    checkEq(accepted.invitation.lockedUntil, null, "after the lock: accepted, no lock left")
    check(!accepted.invitation.toString().contains("secretHash"), "Invitation has no secretHash")
    e.close()
}

fun escalationScenario() {
    // A user_admin cannot resend (or revoke) an owner's invitation.
    run {
        val w = newWorld()
        val ua = Actor.Member(w.join("ua@acme.test", "user_admin").id)
        val inv = w.issue("coowner@acme.test", "owner")
        w.clock.advance(Duration.ofHours(1))
        expectThrows<EnlistException.PermissionDenied>("a user_admin resending an owner invitation") { w.engine.resend(w.org, ua, inv.invitation.id) }
        expectThrows<EnlistException.PermissionDenied>("a user_admin revoking an owner invitation") { w.engine.revoke(w.org, ua, inv.invitation.id) }
        checkEq(w.engine.invitation(w.org, w.owner, inv.invitation.id).sendCount, 1u, "user_admin: no new secret armed")
        checkEq(w.engine.accept(inv.secret!!.reveal(), registration("acct-co", "Co", "Owner")).member.role, "owner", "user_admin: the owner's token still works")
        w.engine.close()
    }
    // A demoted inviter cannot resend or send what they issued as admin.
    run {
        val w = newWorld()
        val admin = w.join("admin@acme.test", "admin")
        val adminActor = Actor.Member(admin.id)
        val sent = w.issue("admin.alt@acme.test", "admin", adminActor)
        val staged = w.issue("admin.alt2@acme.test", "admin", adminActor, send = false)
        w.engine.updateMember(w.org, w.owner, admin.id, MemberUpdate(role = "member"))
        w.clock.advance(Duration.ofHours(1))
        expectThrows<EnlistException.PermissionDenied>("a demoted admin resending their admin invitation") { w.engine.resend(w.org, adminActor, sent.invitation.id) }
        // Demoted to a plain member, who may not invite at all here: refused before any id is read.
        expectThrows<EnlistException.PermissionDenied>("a demoted admin sending their staged admin invitation") { w.engine.sendStaged(w.org, adminActor, listOf(staged.invitation.id)) }
        checkEq(w.engine.invitation(w.org, w.owner, staged.invitation.id).status, InvitationStatus.STAGED, "demoted: the staged invitation stays staged")
        w.engine.close()
    }
    // A 2 MB paste: denied to a member without invite rights, a size limit for an admin.
    run {
        val w = newWorld()
        val plain = Actor.Member(w.join("plain@acme.test").id)
        val big = StringBuilder()
        var i = 0
        while (big.length < 2_000_000) big.append("person${i++}@acme.test, ")
        val before = w.engine.listInvitations(w.org, w.owner, InvitationQuery()).items.size
        expectThrows<EnlistException.PermissionDenied>("a 2 MB paste by a member without invite rights") { w.engine.invite(w.org, plain, paste(big.toString())) }
        expectThrows<EnlistException.PermissionDenied>("2 MB of separators by a member without invite rights") { w.engine.invite(w.org, plain, paste(",\n".repeat(1_000_000))) }
        val size = expectThrows<EnlistException.LimitExceeded>("a 2 MB paste by an owner") { w.engine.invite(w.org, w.owner, paste(big.toString())) }
        checkEq(size?.facts?.get("limit"), "recipient_bytes", "2 MB paste: the recipient_bytes limit")
        check((size?.facts?.get("actual")?.toULong() ?: 0uL) >= 2_000_000uL, "2 MB paste: its size is reported")
        val entries = expectThrows<EnlistException.LimitExceeded>("a paste of 1000 tiny fragments") { w.engine.invite(w.org, w.owner, paste("a,".repeat(1000))) }
        checkEq(entries?.facts?.get("limit"), "recipient_entries", "many fragments: the recipient_entries limit")
        checkEq(w.engine.listInvitations(w.org, w.owner, InvitationQuery()).items.size, before, "oversized pastes: nothing stored")
        w.engine.close()
    }
    // 400 KB of org_org_...: an invalid secret at every anonymous door, refused before any scan.
    run {
        val w = newWorld { it.copy(inviteLinkEnabled = true) }
        val token = w.issue("bob@acme.test").secret!!.reveal()
        val link = w.engine.activateInviteLink(w.org, w.owner, LinkSpec(kind = MemberKind.MEMBER)).url.reveal()
        val pad = "org_".repeat(100_001)
        val doors = listOf<Pair<String, () -> Unit>>(
            "preview" to { w.engine.preview(pad + token); Unit },
            "accept" to { w.engine.accept(pad + token, registration("acct-bob", "B", "S")); Unit },
            "decline" to { w.engine.decline(pad + token); Unit },
            "previewLink" to { w.engine.previewLink(pad + link); Unit },
            "joinByLink" to { w.engine.joinByLink(pad + link, "carol@acme.test", registration("acct-c", "C", "D")); Unit },
        )
        for ((door, call) in doors) {
            val e = expectThrows<EnlistException.NotFound>("a 400 KB org_org_ token: $door") { call() }
            checkEq(e?.code, "invalid_secret", "a 400 KB token: $door: invalid_secret")
        }
        checkEq(w.engine.preview(token).status, InvitationStatus.PENDING, "the token itself still works")
        w.engine.close()
    }
    // Under allowed_domains, joins need a verified contact.
    run {
        val w = newWorld { it.copy(inviteLinkEnabled = true, selfRegistration = true, allowedDomains = listOf("acme.test")) }
        val bob = w.issue("bob@acme.test", "admin")
        val link = w.engine.activateInviteLink(w.org, w.owner, LinkSpec(kind = MemberKind.MEMBER)).url.reveal()
        for (contact in listOf("bob@acme.test", "eve@acme.test")) {
            val e = expectThrows<EnlistException.InvalidInput>("joinByLink as $contact, unverified") {
                w.engine.joinByLink(link, contact, registration("acct-mallory", "M", "X"))
            }
            checkEq(e?.code, "registration_incomplete", "unverified join: registration_incomplete")
            expectThrows<EnlistException.InvalidInput>("selfRegister as $contact, unverified") {
                w.engine.selfRegister(w.org, contact, registration("acct-mallory", "M", "X"))
            }
        }
        expectThrows<EnlistException.InvalidInput>("joinByLink with an identifier under allowed_domains") {
            w.engine.joinByLink(link, "EMP-0042", registration("acct-mallory", "M", "X"))
        }
        checkEq(w.engine.invitation(w.org, w.owner, bob.invitation.id).status, InvitationStatus.PENDING, "unverified join: Bob's invitation stays open")
        val eve = w.engine.joinByLink(link, "eve@acme.test", Registration(userRef = "acct-eve", firstName = "Eve", lastName = "E", verifiedEmail = "Eve@ACME.test"))
        checkEq(eve.contactKey, "eve@acme.test", "verified join: in")
        w.engine.close()
    }
}

fun warningsScenario() {
    val engine = inMemory()
    val created = engine.createOrganization(NewOrganization(name = "Acme", ownerUserRef = "acct-ada", ownerEmail = "ada@acme.test", policy = defaultPolicy()))
    val org = created.organization.id
    val owner = Actor.Member(created.owner.id)
    // A Cyrillic "а" in a Latin local part looks like "paypal".
    val report = engine.invite(org, owner, paste("bob@acme.test\np\u0430ypal@acme.test"))
    checkEq(report.issued.map { inv -> inv.warnings.map { it.code } }, listOf(emptyList(), listOf("international_local_part", "confusable")), "the parser's warnings reach each issued invitation")
}

fun main(args: Array<String>) {
    val dir = File(args.firstOrNull() ?: System.getProperty("java.io.tmpdir"))
    dir.mkdirs()
    try {
        memoryScenario()
        sqliteScenario(dir)
        secretKeyScenario(dir)
        configScenario(dir)
        outboxAndLockScenario()
        escalationScenario()
        warningsScenario()
        commandScenarios(dir)
        dryRunScenarios()
        workerScenario()
        mailersScenario(dir)
        directoryScenario()
        asyncScenario()
    } catch (thrown: Throwable) {
        val e = unwrap(thrown)
        failures++
        println("FAIL unexpected ${e::class.qualifiedName}: ${e.message}")
        e.printStackTrace()
    }
    Parity.verify()
    println()
    println("$checks checks, $failures failed")
    exitProcess(if (failures == 0 && checks > 0) 0 else 1)
}
