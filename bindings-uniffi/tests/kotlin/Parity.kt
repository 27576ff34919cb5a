// Parity, enforced like the Python binding's (bindings-python/tests/conftest.py):
// the test program fails unless every function the library exports is called
// by some check.
//
// The checks reach the library only through recording wrappers:
//   - the engine: `inMemory(...)` / `openSqlite(...)` below return an
//     [Engine], a java.lang.reflect.Proxy over the generated
//     `EnlistInterface` that records each method's name and delegates to the
//     real `Enlist`;
//   - the exported top-level functions: same-named functions of this
//     package, which Kotlin prefers to the star-imported `enlist.*` ones;
//   - `Secret.expose()` (the `SecretText` object): the `reveal()` extension;
//   - the hand-written suspend functions (bindings-uniffi/kotlin/*.kt, class
//     `enlist.EnlistAsyncKt` in the jar): same-named functions of this
//     package (`io`);
//   - the callback interfaces (`Clock.now`, `Mailer.send`): the test's own
//     implementations record that the engine called them.
// What must be called is read from the library jar itself: uniffi generates
// one checksum function per exported function, constructor and method (in
// every `IntegrityCheckingUniffiLib` of the jar), and the public methods of
// the generated interfaces are added to that. A new export nobody calls makes
// the program fail, naming it; a new exported object also needs its recording
// wrapper here.

import enlist.*
import enlist.core.*
import enlist.io as libraryIo
import java.io.File
import java.lang.reflect.InvocationHandler
import java.lang.reflect.InvocationTargetException
import java.lang.reflect.Proxy
import java.lang.reflect.UndeclaredThrowableException
import java.util.TreeSet
import java.util.zip.ZipFile

/** The engine as the checks see it: every method of `EnlistInterface`, and `close()`. */
interface Engine : EnlistInterface, AutoCloseable

object Parity {
    private val called = TreeSet<String>()

    /** Records that `name` ("enlist.invite", "secret.expose", "parseRecipients") was called. */
    fun record(name: String) {
        synchronized(called) { called.add(name) }
    }

    fun <T> call(name: String, block: () -> T): T {
        record(name)
        return block()
    }

    /** [real] behind a recording proxy. */
    fun track(real: Enlist): Engine {
        val handler = InvocationHandler { _, method, args ->
            if (method.declaringClass != Any::class.java) record("enlist.${kotlinName(method)}")
            try {
                method.invoke(real, *(args ?: emptyArray()))
            } catch (e: InvocationTargetException) {
                throw e.targetException
            }
        }
        return Proxy.newProxyInstance(Engine::class.java.classLoader, arrayOf(Engine::class.java), handler) as Engine
    }

    /**
     * Every exported function, constructor and method, named as [record]
     * names them: "enlist.acceptWithCode" (object, lower case, then the
     * Kotlin name), "parseRecipients" (a top-level function).
     */
    fun exported(): Set<String> {
        val out = TreeSet<String>()
        val checksum = Regex("""^uniffi_\w+?_checksum_(func|method|constructor)_([a-z0-9]+(?:_[a-z0-9]+)*)$""")
        for (lib in integrityClasses()) {
            for (m in lib.declaredMethods) {
                val match = checksum.matchEntire(m.name) ?: continue
                val (kind, rest) = match.destructured
                out.add(
                    if (kind == "func") camel(rest)
                    else rest.substringBefore('_') + "." + camel(rest.substringAfter('_'))
                )
            }
        }
        // The hand-written suspend functions compiled into the library jar.
        Class.forName("enlist.EnlistAsyncKt").declaredMethods
            .filter { java.lang.reflect.Modifier.isPublic(it.modifiers) && !it.isSynthetic && !it.name.contains('$') }
            .forEach { out.add(kotlinName(it)) }
        for ((obj, iface) in listOf("enlist" to EnlistInterface::class.java, "secrettext" to SecretTextInterface::class.java)) {
            iface.methods.filter { it.declaringClass == iface && !it.isSynthetic && !it.name.contains('$') }
                .forEach { out.add("$obj.${kotlinName(it)}") }
        }
        return out
    }

    /** The names called so far. */
    fun called(): Set<String> = synchronized(called) { TreeSet(called) }

    /** The check that fails when any export was never called. Run it last. */
    fun verify() {
        val exported = exported()
        check(exported.size > 50 && "enlist.invite" in exported && "parseRecipients" in exported,
            "parity: the library's exports are read from the jar (${exported.size})")
        val missing = exported - called()
        if (missing.isEmpty()) {
            check(true, "parity: each of the ${exported.size} exported functions, constructors and methods is called by some check")
        } else {
            check(false, "parity: ${missing.size} of the ${exported.size} exports are called by no check:\n" +
                missing.joinToString("\n") { "       $it" })
        }
    }

    /** The Kotlin name of a JVM method: `claimDue-qim9Vi0` (mangled for its UInt parameter) is `claimDue`. */
    private fun kotlinName(m: java.lang.reflect.Method): String = m.name.substringBefore('-')

    private fun camel(snake: String): String =
        snake.split('_').filter { it.isNotEmpty() }.mapIndexed { i, w -> if (i == 0) w else w.replaceFirstChar { it.uppercaseChar() } }
            .joinToString("")

    /** The generated `IntegrityCheckingUniffiLib` classes, wherever the generated code was compiled to. */
    private fun integrityClasses(): List<Class<*>> {
        val loader = EnlistInterface::class.java.classLoader
        val where = File(EnlistInterface::class.java.protectionDomain.codeSource.location.toURI())
        val names = if (where.isDirectory) {
            where.walkTopDown().filter { it.isFile }.map { it.relativeTo(where).invariantSeparatorsPath }.toList()
        } else {
            ZipFile(where).use { zip -> zip.entries().asSequence().map { it.name }.toList() }
        }
        return names.filter { it == "IntegrityCheckingUniffiLib.class" || it.endsWith("/IntegrityCheckingUniffiLib.class") }
            .map { Class.forName(it.removeSuffix(".class").replace('/', '.'), false, loader) }
    }
}

/** A Java proxy hands on a checked exception its interface does not declare wrapped: unwrap it. */
fun unwrap(t: Throwable): Throwable = if (t is UndeclaredThrowableException && t.cause != null) unwrap(t.cause!!) else t

// -- The recording doors to the library ---------------------------------------

fun inMemory(clock: Clock? = null, config: EngineConfig? = null, secretKey: ByteArray? = null, sealingKeys: List<SealingKeySpec> = emptyList(), linkKeys: List<ByteArray> = emptyList()): Engine =
    Parity.call("enlist.inMemory") { Parity.track(Enlist.inMemory(clock, config, secretKey, sealingKeys, linkKeys)) }

fun openSqlite(path: String, clock: Clock? = null, config: EngineConfig? = null, secretKey: ByteArray? = null, sealingKeys: List<SealingKeySpec> = emptyList(), linkKeys: List<ByteArray> = emptyList()): Engine =
    Parity.call("enlist.openSqlite") { Parity.track(Enlist.openSqlite(path, clock, config, secretKey, sealingKeys, linkKeys)) }

fun SecretTextInterface.reveal(): String = Parity.call("secrettext.expose") { expose() }

fun defaultPolicy(): Policy = Parity.call("defaultPolicy") { enlist.defaultPolicy() }

fun defaultEngineConfig(): EngineConfig = Parity.call("defaultEngineConfig") { enlist.defaultEngineConfig() }

fun parseRecipients(text: String): ParsedRecipients = Parity.call("parseRecipients") { enlist.parseRecipients(text) }

fun normalizeIdentifier(raw: String): String = Parity.call("normalizeIdentifier") { enlist.normalizeIdentifier(raw) }

fun importTemplateCsv(): String = Parity.call("importTemplateCsv") { enlist.importTemplateCsv() }

fun sqliteVerifyCounts(path: String): List<SqliteCountMismatch> =
    Parity.call("sqliteVerifyCounts") { enlist.sqliteVerifyCounts(path) }

fun sqliteRepairCounts(path: String): List<SqliteCountMismatch> =
    Parity.call("sqliteRepairCounts") { enlist.sqliteRepairCounts(path) }

fun invitationsReportXlsx(report: BatchReport): ByteArray =
    Parity.call("invitationsReportXlsx") { enlist.invitationsReportXlsx(report) }

fun errorsReportXlsx(report: BatchReport): ByteArray =
    Parity.call("errorsReportXlsx") { enlist.errorsReportXlsx(report) }

fun smtpMailer(config: SmtpConfig, password: String? = null): Mailer =
    Parity.call("smtpMailer") { enlist.smtpMailer(config, password) }

fun fileMailer(folder: String, fromAddress: String, fromName: String? = null): Mailer =
    Parity.call("fileMailer") { enlist.fileMailer(folder, fromAddress, fromName) }

suspend fun <E : EnlistInterface, T> E.io(
    dispatcher: kotlinx.coroutines.CoroutineDispatcher = kotlinx.coroutines.Dispatchers.IO,
    command: E.() -> T,
): T {
    Parity.record("io")
    return libraryIo(dispatcher, command)
}
