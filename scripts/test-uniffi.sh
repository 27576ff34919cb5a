#!/usr/bin/env bash
# The Kotlin and Swift bindings (bindings-uniffi/, crate enlist-ffi), tested
# for real:
#
#   1. builds the enlist-ffi cdylib (debug);
#   2. generates the Kotlin and Swift sources from it with the workspace's
#      uniffi-bindgen, in library mode;
#   3. installs what the JVM run needs when it is missing: the Kotlin
#      compiler (npm package kotlin-compiler, into $TARGET/kotlin) and JNA
#      (Debian package libjna-java, with apt-get: CI runs as root);
#   4. compiles the generated Kotlin with bindings-uniffi/tests/kotlin/*.kt
#      and runs the program with java against the built library;
#   5. checks the generated Swift sources, header and modulemap for the
#      declarations an iOS app uses (there is no Swift compiler here).
#
# Run it from anywhere:  scripts/test-uniffi.sh
# Honours CARGO_TARGET_DIR (default: target/ in the repository).
# Overrides: KOTLINC (a kotlinc to use), JNA_JAR (a jna.jar to use).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
case "$TARGET" in /*) ;; *) TARGET=$ROOT/$TARGET ;; esac
OUT=$TARGET/uniffi
KOTLIN_COMPILER_VERSION=2.4.20

step() { echo; echo "-- $*"; }
die() { echo "test-uniffi: $*" >&2; exit 1; }

case "$(uname -s)" in
    Darwin) LIB=$TARGET/debug/libenlist_ffi.dylib ;;
    *) LIB=$TARGET/debug/libenlist_ffi.so ;;
esac

# Installs Debian packages when running as root with apt-get (CI); otherwise
# says what to install.
apt_install() {
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing $* (apt-get)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1 || {
            apt-get update >/dev/null
            apt-get install -y --no-install-recommends "$@" >/dev/null
        }
    else
        die "missing $*: install it (Debian: sudo apt-get install $*)"
    fi
}

step "Build the enlist-ffi cdylib"
cargo build -p enlist-ffi
[ -f "$LIB" ] || die "the build did not produce $LIB"

step "Generate the Kotlin and Swift sources (library mode)"
rm -rf "$OUT/kotlin" "$OUT/swift"
cargo uniffi-bindgen generate "$LIB" --language kotlin --out-dir "$OUT/kotlin" --no-format
cargo uniffi-bindgen generate "$LIB" --language swift --out-dir "$OUT/swift" --no-format
KT_SOURCE=$OUT/kotlin/enlist/enlist_ffi.kt
[ -f "$KT_SOURCE" ] || die "no Kotlin source at $KT_SOURCE"
echo "Kotlin: $KT_SOURCE"
echo "Swift:  $(cd "$OUT/swift" && ls | tr '\n' ' ')"

step "Check the Swift sources, header and modulemap"
SWIFT=$OUT/swift/EnlistKit.swift
HEADER=$OUT/swift/EnlistFFI.h
MODULEMAP=$OUT/swift/EnlistFFI.modulemap
missing=0
expect() { # file, fixed string
    if grep -qF -- "$2" "$1"; then
        echo "ok   $(basename "$1"): $2"
    else
        echo "MISSING in $(basename "$1"): $2"
        missing=$((missing + 1))
    fi
}
for f in "$SWIFT" "$HEADER" "$MODULEMAP"; do [ -f "$f" ] || die "not generated: $f"; done
expect "$MODULEMAP" 'module EnlistFFI {'
expect "$MODULEMAP" 'header "EnlistFFI.h"'
expect "$HEADER" 'uniffi_enlist_ffi_fn_constructor_enlist_in_memory'
expect "$HEADER" 'uniffi_enlist_ffi_fn_constructor_enlist_open_sqlite'
expect "$HEADER" 'uniffi_enlist_ffi_fn_method_enlist_invite'
expect "$HEADER" 'uniffi_enlist_ffi_fn_init_callback_vtable_mailer'
expect "$HEADER" 'uniffi_enlist_ffi_fn_init_callback_vtable_clock'
expect "$SWIFT" 'import EnlistFFI'
expect "$SWIFT" 'open class Enlist: EnlistProtocol'
expect "$SWIFT" 'public static func inMemory(clock: Clock? = nil, config: EngineConfig? = nil, secretKey: Data? = nil)throws  -> Enlist'
expect "$SWIFT" 'public static func openSqlite(path: String, clock: Clock? = nil, config: EngineConfig? = nil, secretKey: Data? = nil)throws  -> Enlist'
expect "$SWIFT" 'open func outboxMessageIn(orgId: String, actor: Actor, messageId: String)throws  -> OutboxMessage'
expect "$SWIFT" 'public var allowedAcceptUrlBases: [String]'
expect "$SWIFT" 'public var lockedUntil: Date?'
expect "$SWIFT" 'open func createOrganization(new: NewOrganization)throws  -> CreatedOrganization'
expect "$SWIFT" 'open func invite(orgId: String, actor: Actor, request: InviteRequest)throws  -> InviteReport'
expect "$SWIFT" 'open func listInvitations(orgId: String, actor: Actor, query: InvitationQuery)throws  -> InvitationPage'
expect "$SWIFT" 'open func listMembers(orgId: String, actor: Actor, query: MemberQuery)throws  -> MemberPage'
expect "$SWIFT" 'open func accept(token: String, registration: Registration)throws  -> Acceptance'
expect "$SWIFT" 'open func deliverPending(mailer: Mailer, limit: UInt32)throws  -> DeliveryReport'
expect "$SWIFT" 'public protocol Mailer: AnyObject, Sendable'
expect "$SWIFT" 'func send(email: OutgoingEmail) throws'
expect "$SWIFT" 'public protocol Clock: AnyObject, Sendable'
expect "$SWIFT" 'func now() -> Date'
expect "$SWIFT" 'enum EnlistError: Swift.Error'
expect "$SWIFT" 'case PermissionDenied('
expect "$SWIFT" '*/facts: [String: String]'
expect "$SWIFT" 'enum MailError: Swift.Error'
expect "$SWIFT" 'public struct InviteRequest'
expect "$SWIFT" 'public enum Recipients'
expect "$SWIFT" 'public var createdAt: Date'
expect "$SWIFT" 'public var expiresAt: Date?'
expect "$SWIFT" 'public func parseRecipients(text: String)throws  -> ParsedRecipients'
# Secrets cross as objects that print as Secret(***), never as strings.
expect "$SWIFT" 'open func expose() -> String'
expect "$SWIFT" 'public var secret: Secret?'
expect "$SWIFT" 'public var acceptUrl: Secret'
[ "$missing" -eq 0 ] || die "$missing expected Swift declaration(s) missing"

step "Kotlin compiler and JNA"
if ! command -v java >/dev/null 2>&1; then
    apt_install default-jre-headless
fi
if [ -n "${KOTLINC:-}" ]; then
    [ -x "$KOTLINC" ] || die "KOTLINC=$KOTLINC is not executable"
else
    KOTLIN_HOME=$TARGET/kotlin
    KOTLINC=$KOTLIN_HOME/node_modules/kotlin-compiler/bin/kotlinc
    installed=$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' \
        "$KOTLIN_HOME/node_modules/kotlin-compiler/package.json" 2>/dev/null || true)
    if [ ! -x "$KOTLINC" ] || [ "$installed" != "$KOTLIN_COMPILER_VERSION" ]; then
        command -v npm >/dev/null 2>&1 || apt_install npm
        echo "installing kotlin-compiler@$KOTLIN_COMPILER_VERSION into $KOTLIN_HOME (npm)"
        mkdir -p "$KOTLIN_HOME"
        npm install --prefix "$KOTLIN_HOME" --no-audit --no-fund --no-save \
            "kotlin-compiler@$KOTLIN_COMPILER_VERSION" >/dev/null
        [ -x "$KOTLINC" ] || die "npm did not install $KOTLINC"
    fi
fi
JNA_JAR=${JNA_JAR:-/usr/share/java/jna.jar}
if [ ! -f "$JNA_JAR" ]; then
    apt_install libjna-java
    [ -f "$JNA_JAR" ] || die "libjna-java did not install $JNA_JAR"
fi
echo "kotlinc: $KOTLINC"
echo "JNA:     $JNA_JAR"

step "Compile the generated Kotlin with the test program"
JAR=$OUT/enlist-kotlin-test.jar
rm -f "$JAR"
"$KOTLINC" -nowarn -cp "$JNA_JAR" "$KT_SOURCE" "$ROOT"/bindings-uniffi/tests/kotlin/*.kt \
    -include-runtime -d "$JAR"

step "Run the Kotlin tests on the JVM against $LIB"
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
java -Djna.library.path="$(dirname "$LIB")" -cp "$JAR:$JNA_JAR" EnlistTestKt "$SCRATCH"

echo
echo "Kotlin and Swift bindings: all checks passed."
