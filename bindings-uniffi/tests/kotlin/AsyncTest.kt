// Suspend functions: `engine.io { ... }` runs any engine method on
// Dispatchers.IO and suspends the caller (bindings-uniffi/kotlin/EnlistAsync.kt).
// Run from main().

import enlist.*
import enlist.core.*
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.yield
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit

fun asyncScenario() = runBlocking {
    val w = newWorld()
    val e = w.engine

    // The same results and exceptions as the blocking calls.
    val issued = e.io { invite(w.org, w.owner, paste("bob@acme.test")) }.issued.single()
    val preview = e.io { preview(issued.secret!!.reveal()) }
    checkEq(emailOf(preview.recipient), "bob@acme.test", "io: preview through a suspend call")
    val bob = e.io { accept(issued.secret!!.reveal(), registration("acct-bob", "Bob", "Smith")) }.member
    checkEq(e.io { member(w.org, w.owner, bob.id) }.status, MemberStatus.ACTIVE, "io: accept and member through suspend calls")
    // (The checks' recording proxy wraps what it throws: unwrap as expectThrows does.)
    val refused = try {
        e.io { invite(w.org, Actor.Member(bob.id), paste("eve@acme.test")) }
        null
    } catch (thrown: Throwable) {
        unwrap(thrown)
    }
    check(refused is EnlistException.PermissionDenied, "io: a denial is thrown to the caller as EnlistException.PermissionDenied ($refused)")

    // The caller's thread is free while a command runs: on runBlocking's one
    // thread (an app's main thread), a command that waits for another
    // coroutine of that thread completes only if it runs elsewhere (else the
    // wait gives up after 10 s and the check fails).
    val callerThread = Thread.currentThread()
    val released = CountDownLatch(1)
    var commandThread: Thread? = null
    val waiting = async {
        e.io {
            commandThread = Thread.currentThread()
            check(released.await(10, TimeUnit.SECONDS), "io: the caller's thread ran another coroutine while the command waited")
            organization(w.org)
        }
    }
    launch {
        yield()
        released.countDown()
    }
    checkEq(waiting.await().name, "Acme", "io: the waiting command completed")
    check(commandThread != null && commandThread != callerThread, "io: the command ran off the caller's thread (${commandThread?.name})")

    // Many at once, from many coroutines: every invitation lands.
    val reports = (1..12).map { n ->
        async(Dispatchers.Default) { e.io { invite(w.org, w.owner, paste("p$n@acme.test")) } }
    }.awaitAll()
    checkEq(reports.sumOf { it.issued.size }, 12, "io: 12 concurrent invites all issued")
    val listed = e.io {
        listInvitations(w.org, w.owner, InvitationQuery(statuses = listOf(InvitationStatus.PENDING), limit = 100u))
    }
    checkEq(listed.items.size, 12, "io: the 12 pending invitations are listed")
    e.close()
}
