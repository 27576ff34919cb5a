// The outbox worker from Kotlin (issue 12): one pass that says when the next
// message is due, the loop on a thread with a StopSignal, and the dead
// letters an administrator reads and retries.

import enlist.*
import enlist.core.*
import java.time.Duration
import kotlin.concurrent.thread

// -- The recording doors to the StopSignal object (see Parity.kt) -----------

fun newStopSignal(): StopSignal = Parity.call("stopsignal.new") { StopSignal() }

fun StopSignal.stopLoop() = Parity.call("stopsignal.stop") { stop() }

fun StopSignal.wakeLoop() = Parity.call("stopsignal.wake") { wake() }

fun StopSignal.stopped(): Boolean = Parity.call("stopsignal.isStopped") { isStopped() }

/** Waits (really) until [done], for at most [secs]: a generous bound. */
fun eventually(secs: Long, done: () -> Boolean): Boolean {
    val deadline = System.nanoTime() + secs * 1_000_000_000
    while (!done()) {
        if (System.nanoTime() > deadline) return false
        Thread.sleep(5)
    }
    return true
}

fun workerScenario() {
    val w = newWorld()
    val e = w.engine
    val mailer = TestMailer()

    // -- One pass: what it did, and when to come back ----------------------
    val idle = e.workOutbox(mailer, 10u)
    checkEq(idle.nextDue, null, "workOutbox: nothing queued, no next due time")
    val bob = w.issue("bob@acme.test")
    val cat = w.issue("cat@acme.test")
    mailer.failures.add(MailException.Temporary("421 busy"))
    val pass = e.workOutbox(mailer, 10u)
    checkEq(pass.sent.size + pass.retrying.size, 2, "workOutbox: both messages attempted")
    checkEq(pass.retrying.size, 1, "workOutbox: the failed one is retried")
    val next = pass.nextDue!!
    val wait = Duration.between(w.clock.now, next)
    check(wait > Duration.ofSeconds(45) && wait <= Duration.ofSeconds(60),
        "workOutbox: next due after the first backoff less its jitter ($wait)")
    w.clock.advance(wait)
    checkEq(e.workOutbox(mailer, 10u).sent, pass.retrying, "workOutbox: the retry goes when due")

    // -- Dead letters --------------------------------------------------------
    val dan = w.issue("dan@acme.test")
    val token = dan.secret!!.reveal()
    mailer.failures.add(MailException.Permanent("550 no such user: $BASE?token=$token"))
    checkEq(e.workOutbox(mailer, 10u).failed, listOf(dan.messageId!!), "workOutbox: a permanent failure is a dead letter")
    val page = e.deadLetters(w.org, w.owner, 50u, null)
    checkEq(page.items.map { it.id }, listOf(dan.messageId!!), "deadLetters: the failed message")
    val dead = page.items.single()
    checkEq(dead.to, "dan@acme.test", "deadLetters: the recipient")
    check(dead.reason?.contains("550 no such user") == true, "deadLetters: the reason (${dead.reason})")
    check(!dead.toString().contains(token) && dead.reason?.contains(token) == false, "deadLetters: never the token")
    val mia = w.join("mia@acme.test")
    expectThrows<EnlistException.PermissionDenied>("deadLetters: a member without ManageOutbox") {
        e.deadLetters(w.org, Actor.Member(mia.id), 50u, null)
    }
    val other = e.createOrganization(NewOrganization(name = "Other", ownerUserRef = "acct-o", ownerEmail = "o@other.test", policy = defaultPolicy()))
    expectThrows<EnlistException.NotFound>("retryDeadLetter: another organization's message") {
        e.retryDeadLetter(other.organization.id, Actor.Member(other.owner.id), dan.messageId!!)
    }
    w.clock.advance(Duration.ofMinutes(11))
    val retried = e.retryDeadLetter(w.org, w.owner, dan.messageId!!)
    check(retried != dan.messageId, "retryDeadLetter: a new message")
    checkEq(e.deadLetters(w.org, w.owner, 50u, null).items.size, 0, "retryDeadLetter: the dead letter leaves the list")
    checkEq(e.workOutbox(mailer, 10u).sent, listOf(retried), "retryDeadLetter: the worker sends the new message")
    check(!mailer.sent.last().acceptUrl.reveal().contains(token), "retryDeadLetter: with a fresh link")

    // -- The loop on a thread, stopped by a StopSignal ------------------------
    val stop = newStopSignal()
    var totals: WorkerReport? = null
    val worker = thread { totals = e.runOutbox(mailer, stop, 10u, 3_600_000uL) }
    val before = mailer.sent.size
    w.issue("eve@acme.test")
    stop.wakeLoop()
    check(eventually(30) { mailer.sent.size == before + 1 }, "runOutbox: sends what is due once woken")
    check(!stop.stopped(), "StopSignal: not stopped yet")
    stop.stopLoop()
    worker.join(30_000)
    check(!worker.isAlive, "runOutbox: returns promptly on stop, not after its hour of idle")
    check(stop.stopped(), "StopSignal: stopped")
    check((totals?.sent?.size ?: 0) >= 1, "runOutbox: the totals of its passes")
    check(bob.messageId != null && cat.messageId != null, "setup: both invitations were queued")
}
