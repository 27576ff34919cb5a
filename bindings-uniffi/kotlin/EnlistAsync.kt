// Suspend functions for the engine, written by hand and compiled into the
// library jar with the generated bindings (scripts/test-uniffi.sh). An app
// needs kotlinx-coroutines-core on its class path (Android apps have it).
//
// Why here and not as uniffi async exports: every engine command is a
// blocking store transaction, so an async export would only move the same
// call to a Rust thread pool, and it would take a second, async copy of each
// of the engine's ~100 methods to keep in step. One generic function gives
// every method, present and future, its suspend path on the dispatcher made
// for blocking work.

package enlist

import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext

/**
 * Runs [command] with this engine on [dispatcher] (by default
 * `Dispatchers.IO`, the pool for blocking work) and suspends the caller
 * until it returns: its result is returned, its exception (an
 * `EnlistException`) thrown, as if the method had been called directly.
 * The caller's thread (an Android app's main thread) is never blocked:
 *
 * ```kotlin
 * val report = engine.io { invite(orgId, actor, request) }
 * ```
 *
 * A command whose coroutine is cancelled while it runs still finishes on
 * its thread (it commits or rolls back as a whole, as every command does);
 * the caller then gets a `CancellationException` and the result is dropped.
 */
suspend fun <E : EnlistInterface, T> E.io(
    dispatcher: CoroutineDispatcher = Dispatchers.IO,
    command: E.() -> T,
): T = withContext(dispatcher) { command() }
