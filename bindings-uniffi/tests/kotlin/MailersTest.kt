// The mailers of enlist-smtp from Kotlin: fileMailer(...) writes .eml files,
// smtpMailer(...) speaks SMTP to a small server this file runs on 127.0.0.1
// (a real session: greeting, EHLO, MAIL, RCPT, DATA, QUIT). Run from main()
// in EnlistTest.kt.

import enlist.*
import enlist.core.*
import java.io.BufferedReader
import java.io.File
import java.io.InputStreamReader
import java.io.OutputStream
import java.net.InetAddress
import java.net.ServerSocket
import java.net.Socket
import java.util.Collections
import kotlin.concurrent.thread

/** A message the server took: its envelope and its raw text. */
data class SmtpMessage(val from: String, val to: List<String>, val data: String)

/**
 * A minimal SMTP server on 127.0.0.1: one thread per connection, every
 * message kept; a RCPT TO of an address in [refuse] gets that reply.
 */
class TinySmtpServer : AutoCloseable {
    private val socket = ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))
    val port: Int get() = socket.localPort
    val received: MutableList<SmtpMessage> = Collections.synchronizedList(mutableListOf())
    val refuse: MutableMap<String, String> = Collections.synchronizedMap(mutableMapOf())
    @Volatile var sessions = 0

    init {
        thread(isDaemon = true, name = "tiny-smtp") {
            while (!socket.isClosed) {
                val client = try { socket.accept() } catch (e: Exception) { break }
                sessions++
                thread(isDaemon = true) { client.use { serve(it) } }
            }
        }
    }

    private fun serve(client: Socket) {
        val input = BufferedReader(InputStreamReader(client.getInputStream(), Charsets.UTF_8))
        val out = client.getOutputStream()
        fun reply(line: String) = out.writeLine(line)
        reply("220 tiny.test ESMTP ready")
        var from = ""
        val to = mutableListOf<String>()
        while (true) {
            val line = input.readLine() ?: return
            val verb = line.substringBefore(' ').uppercase()
            when (verb) {
                "EHLO" -> { out.writeLine("250-tiny.test greets you"); reply("250 8BITMIME") }
                "HELO" -> reply("250 tiny.test")
                "MAIL" -> { from = line.substringAfter('<').substringBefore('>'); to.clear(); reply("250 OK") }
                "RCPT" -> {
                    val address = line.substringAfter('<').substringBefore('>')
                    val refusal = refuse[address]
                    if (refusal != null) reply(refusal) else { to.add(address); reply("250 OK") }
                }
                "DATA" -> {
                    if (to.isEmpty()) { reply("554 no valid recipients"); continue }
                    reply("354 end with <CRLF>.<CRLF>")
                    val data = StringBuilder()
                    while (true) {
                        val l = input.readLine() ?: return
                        if (l == ".") break
                        data.append(if (l.startsWith("..")) l.substring(1) else l).append("\r\n")
                    }
                    received.add(SmtpMessage(from, to.toList(), data.toString()))
                    reply("250 queued")
                }
                "RSET" -> { from = ""; to.clear(); reply("250 OK") }
                "NOOP" -> reply("250 OK")
                "QUIT" -> { reply("221 bye"); return }
                else -> reply("502 not implemented")
            }
        }
    }

    private fun OutputStream.writeLine(line: String) {
        write("$line\r\n".toByteArray(Charsets.UTF_8))
        flush()
    }

    override fun close() = socket.close()
}

/** The text of a quoted-printable body as written: soft line breaks joined, `=3D` as `=`. */
fun unfoldQuotedPrintable(text: String): String = text.replace("=\r\n", "").replace("=3D", "=")

/** The value of header [name] in a raw message. */
fun header(raw: String, name: String): String? =
    raw.substringBefore("\r\n\r\n").split("\r\n").firstOrNull { it.startsWith("$name: ", ignoreCase = true) }
        ?.substringAfter(": ")

fun mailersScenario(dir: File) {
    val engine = inMemory()
    val created = engine.createOrganization(NewOrganization(name = "Acme", ownerUserRef = "acct-ada", ownerEmail = "ada@acme.test", policy = defaultPolicy()))
    val org = created.organization.id
    val owner = Actor.Member(created.owner.id)

    // -- fileMailer: one .eml per message ---------------------------------
    val folder = File(dir, "outbox-${System.nanoTime()}")
    val files = fileMailer(folder.path, "noreply@acme.test", "Acme")
    val bob = engine.invite(org, owner, paste("Bob Stone <bob@acme.test>")).issued.single()
    val filed = engine.deliverPending(files, 10u)
    checkEq(filed.sent, listOf(bob.messageId!!), "fileMailer: deliverPending sends through it")
    val eml = File(folder, "${bob.messageId}.eml")
    check(eml.isFile, "fileMailer: {message id}.eml written")
    val raw = eml.readText().replace("\n", "\r\n").replace("\r\r\n", "\r\n")
    checkEq(header(raw, "From"), "Acme <noreply@acme.test>", "fileMailer: From")
    checkEq(header(raw, "To"), "\"Bob Stone\" <bob@acme.test>", "fileMailer: To (the name quoted by lettre)")
    checkEq(header(raw, "X-Enlist-Message-Id"), bob.messageId, "fileMailer: the idempotency header")
    check(unfoldQuotedPrintable(raw).contains("token=" + bob.secret!!.reveal()), "fileMailer: the accept link is in the body")
    // The app may call it itself with an email it was handed.
    val cat = engine.invite(org, owner, paste("cat@acme.test")).issued.single()
    val due = engine.claimDue(1u, null).single()
    files.send(due.email)
    check(File(folder, "${cat.messageId}.eml").isFile, "fileMailer: send() called from Kotlin writes the file too")
    engine.markSent(due.id)

    // -- smtpMailer: to a real SMTP server on 127.0.0.1 -------------------
    TinySmtpServer().use { server ->
        val smtp = smtpMailer(SmtpConfig(host = "127.0.0.1", fromAddress = "noreply@acme.test", fromName = "Acme Invitations",
            port = server.port.toUShort(), tls = TlsMode.NONE, connectTimeoutSecs = 5uL, commandTimeoutSecs = 5uL))
        val issued = engine.invite(org, owner, paste("Dan Brown <dan@acme.test>, gone@acme.test, eve@acme.test")).issued
        val (dan, gone, eve) = issued
        server.refuse["gone@acme.test"] = "550 5.1.1 no such mailbox"
        val report = engine.deliverPending(smtp, 10u)
        checkEq(report.sent.toSet(), setOf(dan.messageId!!, eve.messageId!!), "smtpMailer: two emails sent")
        checkEq(report.failed, listOf(gone.messageId!!), "smtpMailer: a 550 fails the message for good")
        checkEq(server.received.map { it.to }.toSet(), setOf(listOf("dan@acme.test"), listOf("eve@acme.test")), "smtpMailer: one message per recipient arrived")
        val toDan = server.received.single { it.to == listOf("dan@acme.test") }
        checkEq(toDan.from, "noreply@acme.test", "smtpMailer: the envelope sender")
        checkEq(header(toDan.data, "From"), "\"Acme Invitations\" <noreply@acme.test>", "smtpMailer: From")
        checkEq(header(toDan.data, "To"), "\"Dan Brown\" <dan@acme.test>", "smtpMailer: To")
        checkEq(header(toDan.data, "X-Enlist-Message-Id"), dan.messageId, "smtpMailer: the idempotency header")
        check(unfoldQuotedPrintable(toDan.data).contains("token=" + dan.secret!!.reveal()), "smtpMailer: the accept link arrived")
        val goneMessage = engine.outboxMessage(gone.messageId!!)
        checkEq(goneMessage.status, OutboxStatus.FAILED, "smtpMailer: the 550's message is failed")
        check(goneMessage.lastError?.contains("550") == true, "smtpMailer: the reason quotes the reply")
    }

    // -- The settings are checked --------------------------------------------
    expectThrows<EnlistException.InvalidInput>("smtpMailer: no TLS to another machine") {
        smtpMailer(SmtpConfig(host = "smtp.example.com", fromAddress = "noreply@acme.test", tls = TlsMode.NONE))
    }?.let { check(it.message?.contains("smtp.tls") == true, "smtpMailer: the error names the field (${it.message})") }
    expectThrows<EnlistException.InvalidInput>("smtpMailer: port 0") {
        smtpMailer(SmtpConfig(host = "smtp.example.com", fromAddress = "noreply@acme.test", port = 0u.toUShort(),
            username = "apikey"), password = "hunter2-password")
    }?.let { check(it.message?.contains("hunter2") == false, "smtpMailer: the password is not in the error") }
    val printed = SmtpConfig(host = "smtp.example.com", fromAddress = "noreply@acme.test", username = "apikey").toString()
    check(printed.contains("apikey") && !printed.contains("password"), "SmtpConfig: the record holds no password to print")
    expectThrows<EnlistException.InvalidInput>("fileMailer: a From that is no address") {
        fileMailer(folder.path, "not an address")
    }
    engine.close()
}
