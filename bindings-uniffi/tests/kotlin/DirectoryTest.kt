// Seed 000, "Invite Users From Spectrum", from Kotlin: the app implements
// DirectorySource over its HR system (SpectrumSource below); csvDirectory and
// memoryDirectory ship with the library. The assistant keeps its state
// between screens as JSON; filters change, the selection stays; roles are set
// one by one and for the selection; review, send, and the two reports.

import enlist.*
import enlist.core.*
import java.lang.reflect.InvocationHandler
import java.lang.reflect.InvocationTargetException
import java.lang.reflect.Proxy

/** The assistant behind a recording proxy (Parity: every method is called by some check). */
fun trackAssistant(real: DirectoryAssistant): DirectoryAssistantInterface {
    val handler = InvocationHandler { _, method, args ->
        if (method.declaringClass != Any::class.java) Parity.record("directoryassistant.${method.name.substringBefore('-')}")
        try {
            method.invoke(real, *(args ?: emptyArray()))
        } catch (e: InvocationTargetException) {
            throw e.targetException
        }
    }
    return Proxy.newProxyInstance(
        DirectoryAssistantInterface::class.java.classLoader,
        arrayOf(DirectoryAssistantInterface::class.java),
        handler,
    ) as DirectoryAssistantInterface
}

fun assistantFromJson(json: String): DirectoryAssistant =
    Parity.call("directoryassistant.fromJson") { DirectoryAssistant.fromJson(json) }

fun csvDirectory(bytes: ByteArray): DirectorySource = Parity.call("csvDirectory") { enlist.csvDirectory(bytes) }

fun memoryDirectory(companies: List<DirectoryCompanyStaff>): DirectorySource =
    Parity.call("memoryDirectory") { enlist.memoryDirectory(companies) }

fun directoryInvitationsCsv(r: DirectorySendReport): String =
    Parity.call("directoryInvitationsCsv") { enlist.directoryInvitationsCsv(r) }

fun directoryErrorsCsv(r: DirectorySendReport): String = Parity.call("directoryErrorsCsv") { enlist.directoryErrorsCsv(r) }

fun employee(id: String, first: String, last: String, email: String?, title: String, dept: String, status: String = "Active", role: String? = null) =
    DirectoryEmployee(id = id, firstName = first, lastName = last, displayName = null, email = email, jobTitle = title,
        department = dept, employmentStatus = status, suggestedRole = role)

/** The app's HR system, implementing the library's interface. */
class SpectrumSource(var down: Boolean = false) : DirectorySource {
    var calls = 0
    override fun companies(): List<DirectoryCompany> {
        Parity.record("directorysource.companies")
        calls++
        if (down) throw DirectorySourceException.Unavailable("Spectrum is down")
        return listOf(DirectoryCompany("builders", "Acme Builders"), DirectoryCompany("services", "Acme Services"))
    }

    override fun employees(companyId: String): List<DirectoryEmployee> {
        Parity.record("directorysource.employees")
        calls++
        if (companyId != "builders") {
            return listOf(employee("S-1", "Hal", "Hart", "hal@services.test", "Accountant", "Finance"))
        }
        return listOf(
            employee("B-1", "Ann", "Abel", "ann@builders.test", "Accountant", "Finance"),
            employee("B-2", "Ben", "Best", "ben@builders.test", "Driver", "Field"),
            employee("B-3", "Cat", "Cole", null, "Accountant", "Finance"),
            employee("B-4", "Dan", "Dole", "ann@builders.test", "Clerk", "Finance"),
            employee("B-5", "Eve", "Ecker", "eve@builders.test", "Accountant", "Finance", role = "User admin"),
            employee("B-6", "Ada", "Lovelace", "ada@acme.test", "CEO", "Board"),
            employee("B-7", "Ray", "Tired", "ray@builders.test", "Accountant", "Finance", status = "Terminated"),
        )
    }
}

fun sent0(review: DirectoryReview): UInt = review.maxBatch

fun directoryScenario() {
    val engine = inMemory()
    val created = engine.createOrganization(NewOrganization(name = "Acme", ownerUserRef = "acct-ada", ownerEmail = "ada@acme.test", policy = defaultPolicy()))
    val org = created.organization.id
    val admin = Actor.Member(created.owner.id)
    val hr = SpectrumSource()

    // Step 1: two companies, so the company is chosen first.
    val real = engine.directoryStart(org, admin, hr)
    val a = trackAssistant(real)
    check(a.needsCompany(), "directory: two companies, the Select Company step shows")
    checkEq(a.companies().map { it.name }, listOf("Acme Builders", "Acme Services"), "directory: the companies")
    checkEq(a.company(), null, "directory: no company chosen yet")
    checkEq(a.orgId(), org, "directory: the organization")
    engine.directoryChooseCompany(org, admin, hr, real, "builders")
    checkEq(a.company()?.name, "Acme Builders", "directory: the company chosen")

    // Step 2: active employees who are not users yet (Ada owns the org, Ray left).
    checkEq(a.visible().map { it.employee.id }, listOf("B-1", "B-2", "B-3", "B-4", "B-5"), "directory: active, neither member nor invited")
    checkEq(a.employees().size, 5, "directory: employees listed")
    checkEq(listOf(a.leftOutKnown(), a.leftOutInactive()), listOf(1uL, 1uL), "directory: left out as known and as inactive")
    a.setFilter(DirectoryField.JOB_TITLE, "accountant")
    checkEq(a.filterOf(DirectoryField.JOB_TITLE), "accountant", "directory: the filter in force")
    checkEq(a.visible().map { it.employee.id }, listOf("B-1", "B-3", "B-5"), "directory: filtered by job title")
    checkEq(a.selectAllFiltered(), 3uL, "directory: select all filtered")
    a.clearFilters()
    a.setFilter(DirectoryField.DEPARTMENT, "finance")
    a.setSort(DirectoryField.LAST_NAME, true)
    checkEq(a.visible().map { it.employee.id }, listOf("B-5", "B-4", "B-3", "B-1"), "directory: sorted by last name, descending")
    checkEq(a.select(listOf("B-4")), 4uL, "directory: one more selected")
    a.setFilter(DirectoryField.DEPARTMENT, null)
    checkEq(a.selected(), listOf("B-1", "B-3", "B-4", "B-5"), "directory: the selection survives filter changes")
    checkEq(a.deselectAllFiltered(), 0uL, "directory: deselect all filtered")
    checkEq(a.select(listOf("B-1", "B-3", "B-4", "B-5")), 4uL, "directory: selected again")
    checkEq(a.deselect(listOf("B-2")), 4uL, "directory: deselecting someone not selected changes nothing")

    // Step 3: roles, from the record, the default, one by one and for the selection.
    checkEq(a.defaultRole(), "member", "directory: the organization's default role")
    checkEq(a.roleOf("B-5"), "user_admin", "directory: the directory's suggested role")
    checkEq(a.setRoleForSelection("user_admin"), 4uL, "directory: Change Role for the selection")
    a.setRole("B-3", "member")
    a.resetRole("B-4")
    checkEq(listOf(a.roleOf("B-1"), a.roleOf("B-3"), a.roleOf("B-4")), listOf("user_admin", "member", "member"), "directory: roles")

    // Kept between screens.
    val kept = trackAssistant(assistantFromJson(a.toJson()))
    checkEq(kept.selected(), a.selected(), "directory: the assistant survives toJson/fromJson")

    // Step 4: review.
    val review = engine.directoryReview(org, admin, real)
    checkEq(review.toSend.map { it.employee.id to it.role }, listOf("B-1" to "user_admin", "B-5" to "user_admin"), "directory: invitations to send")
    check(review.errors.map { it.employee.id } == listOf("B-3", "B-4") && review.errors[0].reason is RejectReason.MissingContact &&
        review.errors[1].reason is RejectReason.DuplicateInBatch, "directory: invitation errors (no email, a shared email)")
    checkEq(sent0(review), 100u, "directory: the batch limit shown at review")

    // Step 5: send, and the two reports.
    val sent = engine.directorySend(org, admin, real, "Welcome")
    checkEq(sent.report.issued.size to sent.report.rejected.size, 2 to 2, "directory: one batch through invite")
    val invitations = directoryInvitationsCsv(sent)
    check(invitations.contains("B-1,Ann Abel,ann@builders.test,user_admin,pending,"), "directory: the Invitations report")
    check(directoryErrorsCsv(sent).contains("B-3,Cat Cole,,missing_contact,"), "directory: the Errors report")
    val secret = sent.report.issued[0].secret!!.reveal()
    check(!invitations.contains(secret), "directory: no secret in the reports")

    // Reloaded, the invited leave the list; the other company starts afresh.
    engine.directoryChooseCompany(org, admin, hr, real, "builders")
    check("B-1" !in a.visible().map { it.employee.id }, "directory: the invited leave the list")
    engine.directoryChooseCompany(org, admin, hr, real, "services")
    checkEq(a.selected(), emptyList<String>(), "directory: another company, a new selection")
    a.clearSelection()

    // The sources that ship with the library.
    val one = memoryDirectory(listOf(DirectoryCompanyStaff(DirectoryCompany("acme", "Acme"), listOf(employee("1", "Zoe", "Zed", "zoe@acme.test", "Clerk", "Office")))))
    checkEq(one.companies().size, 1, "memoryDirectory: its companies")
    val single = trackAssistant(engine.directoryStart(org, admin, one))
    check(!single.needsCompany(), "memoryDirectory: one company, the step is skipped")
    val csv = csvDirectory("Employee ID,Full name,Email,Status\n1,Ann Abel,ann2@acme.test,Active\n2,Ben Best,ben2@acme.test,Inactive\n".toByteArray())
    checkEq(csv.employees("default").map { it.id }, listOf("1", "2"), "csvDirectory: the export's rows")
    checkEq(trackAssistant(engine.directoryStart(org, admin, csv)).employees().map { it.id }, listOf("1"), "csvDirectory: only the active")
    expectThrows<EnlistException.InvalidInput>("csvDirectory: a file without an email or name column") { csvDirectory("Shoe size\n42\n".toByteArray()) }

    // A plain member is refused before the HR system is asked; a failing source is a clear error.
    val pat = engine.invite(org, admin, paste("pat@acme.test")).issued[0]
    val patMember = engine.accept(pat.secret!!.reveal(), registration("acct-pat", "Pat", "P")).member
    val before = hr.calls
    denied("directoryStart by a plain member") { engine.directoryStart(org, Actor.Member(patMember.id), hr) }
    checkEq(hr.calls, before, "directory: the source is not asked for a refused actor")
    val down = SpectrumSource(down = true)
    val e = expectThrows<EnlistException.InvalidInput>("directory: a failing source") { engine.directoryStart(org, admin, down) }
    check(e?.message?.contains("Spectrum is down") == true, "directory: the source's failure is named")
    expectThrows<EnlistException.InvalidInput>("directory: an assistant from garbage") { assistantFromJson("{") }
    engine.close()
}
