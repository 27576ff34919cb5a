// Seed 000's "Summary and reports" from Kotlin: every bulk command keeps
// its report, fetched again by batch id (Enlist.batchReport), with the
// Invitations and Errors reports as CSV (record methods) and XLSX
// (invitationsReportXlsx / errorsReportXlsx); the Excel import template
// with the organization's roles and groups as drop-down lists; pruning.
// Run from commandScenarios() in CommandsTest.kt.

import enlist.*
import enlist.core.*
import java.io.ByteArrayInputStream
import java.time.Duration
import java.util.zip.ZipInputStream

/** The text of every cell of an XLSX workbook (its shared strings). */
fun xlsxText(bytes: ByteArray): String {
    ZipInputStream(ByteArrayInputStream(bytes)).use { zip ->
        while (true) {
            val entry = zip.nextEntry ?: return ""
            if (entry.name == "xl/sharedStrings.xml") return zip.readBytes().decodeToString()
        }
    }
}

fun reportsScenario() {
    val w = newWorld()
    val e = w.engine
    val rows = listOf(
        RecipientInput(email = "ann@acme.test", firstName = "Ann", lastName = "Archer"),
        RecipientInput(firstName = "Carl", lastName = "NoMail"),
        RecipientInput(email = "eve@@acme.test", firstName = "Eve"),
    )
    val sent = e.invite(w.org, w.owner, InviteRequest(kind = MemberKind.MEMBER, recipients = Recipients.Rows(rows)))
    val token = sent.issued.single().secret!!.reveal()
    w.clock.advance(Duration.ofDays(7))
    val report = e.batchReport(w.org, w.owner, sent.batchId)
    checkEq(report.kind, ReportKind.INVITE, "batchReport: the invite's report, a week later")
    checkEq(report.invitations().map { it.contact }, listOf("ann@acme.test"), "batchReport: the Invitations report")
    checkEq(report.errors().map { it.errorCode }, listOf("missing_contact", "invalid_address"), "batchReport: the Errors report")
    checkEq(report.errors().first().firstName, "Carl", "batchReport: an error row keeps the names")
    check(report.invitationsCsv().startsWith("line,contact,first_name,last_name,role,groups,outcome,id\n"), "invitationsCsv: the header")
    check(report.errorsCsv().contains("missing_contact"), "errorsCsv: the reason")
    val xlsx = invitationsReportXlsx(report)
    check(xlsx.size > 2 && xlsx[0] == 'P'.code.toByte() && xlsx[1] == 'K'.code.toByte(), "invitationsReportXlsx: a workbook")
    check(xlsxText(xlsx).contains("ann@acme.test"), "invitationsReportXlsx: the rows")
    check(xlsxText(errorsReportXlsx(report)).contains("NoMail"), "errorsReportXlsx: the rows")
    for (file in listOf(report.invitationsCsv(), report.errorsCsv(), xlsxText(xlsx))) {
        check(!file.contains(token), "a report holds no secret")
    }

    // A staged send and an import keep their own reports.
    val staged = e.invite(w.org, w.owner, InviteRequest(kind = MemberKind.MEMBER, recipients = Recipients.Rows(listOf(RecipientInput(email = "fay@acme.test"))), send = false))
    val send = e.sendStaged(w.org, w.owner, listOf(staged.issued.single().invitation.id))
    checkEq(e.batchReport(w.org, w.owner, send.batchId!!).kind, ReportKind.SEND_STAGED, "sendStaged: its report id")
    val imported = e.importInvitations(w.org, w.owner, "Email\ngus@acme.test\nbad\n".toByteArray(), ImportFormat.CSV, ImportDefaults(kind = MemberKind.MEMBER))
    val importReport = e.batchReport(w.org, w.owner, imported.reportId!!)
    checkEq(importReport.rows.map { it.line to it.outcome }, listOf(2uL to RowOutcome.ISSUED, 3uL to RowOutcome.REJECTED), "importInvitations: its report by line")

    // Who may read: not a member who may not see members; not another organization.
    e.defineRole(w.org, w.owner, "contractor", listOf())
    val cy = Actor.Member(w.join("cy@acme.test", "contractor").id)
    denied("batchReport by a member without ViewMembers") { e.batchReport(w.org, cy, sent.batchId) }
    val other = newWorld()
    expectThrows<EnlistException.NotFound>("batchReport of another organization's batch") {
        other.engine.batchReport(other.org, other.owner, sent.batchId)
    }
    other.engine.close()

    // The Excel template, with roles and groups as drop-down lists.
    e.createGroup(w.org, w.owner, NewGroup(name = "Sales", description = "", isDefault = false))
    val template = e.importTemplateXlsx(w.org, w.owner)
    val text = xlsxText(template)
    check(listOf("Email", "Role", "Groups", "member", "Sales").all { text.contains(it) }, "importTemplateXlsx: columns, roles and groups")
    denied("importTemplateXlsx by a member who may not invite") { e.importTemplateXlsx(w.org, cy) }

    // Retention.
    w.clock.advance(Duration.ofDays(100))
    denied("pruneBatchReports by a member without ManagePolicy") { e.pruneBatchReports(w.org, cy, w.clock.now) }
    check(e.pruneBatchReports(w.org, w.owner, w.clock.now.minus(Duration.ofDays(90))) >= 4uL, "pruneBatchReports: the old reports")
    expectThrows<EnlistException.NotFound>("batchReport after pruning") { e.batchReport(w.org, w.owner, sent.batchId) }
    e.close()
}
