#!/usr/bin/env bash
# The Kotlin and Swift bindings (bindings-uniffi/, crate enlist-ffi), tested
# for real:
#
#   1. builds the enlist-ffi cdylib (debug);
#   2. generates the Kotlin and Swift sources from it with the workspace's
#      uniffi-bindgen, in library mode;
#   3. installs what the JVM run needs when it is missing: the Kotlin
#      compiler (npm package kotlin-compiler, into $TARGET/kotlin), JNA
#      (Debian package libjna-java) and kotlinx-coroutines (Debian packages
#      libkotlinx-coroutines-java and libkotlinx-atomicfu-java, which it
#      needs at run time), with apt-get: CI runs as root;
#   4. compiles the generated Kotlin and the hand-written suspend functions
#      (bindings-uniffi/kotlin/*.kt) into a library jar with the cdylib
#      inside as a JNA resource (linux-x86-64/libenlist_ffi.so on Linux
#      x86-64: JNA's resource prefix for the platform):
#      target/uniffi/enlist-ffi.jar, what a JVM app puts on its class path;
#   5. compiles bindings-uniffi/tests/kotlin/*.kt against that jar (and JNA)
#      only, and runs the program with java as a consumer would (no
#      -Djna.library.path: JNA unpacks the library from the jar). The program
#      fails when any check fails, or when an exported function is called by
#      no check (tests/kotlin/Parity.kt);
#   6. checks the generated Swift sources, header and modulemap for the
#      declarations an iOS app uses (there is no Swift compiler here).
#
# Run it from anywhere:  scripts/test-uniffi.sh
# Honours CARGO_TARGET_DIR (default: target/ in the repository).
# Overrides: KOTLINC (a kotlinc to use), JNA_JAR (a jna.jar to use),
# COROUTINES_JAR and ATOMICFU_JAR (kotlinx-coroutines-core and atomicfu jars),
# JNA_RESOURCE_PREFIX (JNA's com.sun.jna.Platform.RESOURCE_PREFIX, for a
# platform the mapping below does not know).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
case "$TARGET" in /*) ;; *) TARGET=$ROOT/$TARGET ;; esac
OUT=$TARGET/uniffi
KOTLIN_COMPILER_VERSION=2.4.20
LIB_NAME=enlist_ffi                       # the cdylib (and uniffi component) name
KOTLIN_OUT=$OUT/kotlin                    # generated Kotlin: every .kt under it goes in the jar
KOTLIN_MAIN_SOURCE=$KOTLIN_OUT/enlist/enlist_ffi.kt   # must be generated
LIB_JAR=$OUT/enlist-ffi.jar               # the library jar (generated Kotlin + native library)
TEST_SOURCES=$ROOT/bindings-uniffi/tests/kotlin
HAND_SOURCES=$ROOT/bindings-uniffi/kotlin      # hand-written Kotlin of the library (suspend functions)
TEST_JAR=$OUT/enlist-kotlin-test.jar      # the test program (with the Kotlin runtime)
TEST_MAIN=EnlistTestKt

step() { echo; echo "-- [${SECONDS}s] $*"; }
die() { echo "test-uniffi: $*" >&2; exit 1; }

case "$(uname -s)" in
    Darwin) LIB=$TARGET/debug/lib$LIB_NAME.dylib ;;
    *) LIB=$TARGET/debug/lib$LIB_NAME.so ;;
esac

# Where JNA looks for a native library among the class path's resources
# (com.sun.jna.Platform.RESOURCE_PREFIX; the test program checks it).
if [ -z "${JNA_RESOURCE_PREFIX:-}" ]; then
    case "$(uname -s)-$(uname -m)" in
        Linux-x86_64 | Linux-amd64) JNA_RESOURCE_PREFIX=linux-x86-64 ;;
        Linux-aarch64 | Linux-arm64) JNA_RESOURCE_PREFIX=linux-aarch64 ;;
        Darwin-x86_64) JNA_RESOURCE_PREFIX=darwin-x86-64 ;;
        Darwin-arm64) JNA_RESOURCE_PREFIX=darwin-aarch64 ;;
        *) die "unknown platform $(uname -s)-$(uname -m): set JNA_RESOURCE_PREFIX" ;;
    esac
fi

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
rm -rf "$KOTLIN_OUT" "$OUT/swift"
cargo uniffi-bindgen generate "$LIB" --language kotlin --out-dir "$KOTLIN_OUT" --no-format
cargo uniffi-bindgen generate "$LIB" --language swift --out-dir "$OUT/swift" --no-format
[ -f "$KOTLIN_MAIN_SOURCE" ] || die "no Kotlin source at $KOTLIN_MAIN_SOURCE"
KT_SOURCES=()
while IFS= read -r f; do KT_SOURCES+=("$f"); done < <(find "$KOTLIN_OUT" -name '*.kt' | sort)
echo "Kotlin: ${KT_SOURCES[*]}"
echo "Swift:  $(cd "$OUT/swift" && ls | tr '\n' ' ')"

step "Check the Swift sources, header and modulemap"
SWIFT=$OUT/swift/EnlistKit.swift
HEADER=$OUT/swift/EnlistFFI.h
MODULEMAP=$OUT/swift/EnlistFFI.modulemap
# Core's records and enums: compiled into the same Swift module.
CORE_SWIFT=$OUT/swift/EnlistCore.swift
CORE_HEADER=$OUT/swift/EnlistCoreFFI.h
CORE_MODULEMAP=$OUT/swift/EnlistCoreFFI.modulemap
missing=0
expect() { # file, fixed string
    if grep -qF -- "$2" "$1"; then
        echo "ok   $(basename "$1"): $2"
    else
        echo "MISSING in $(basename "$1"): $2"
        missing=$((missing + 1))
    fi
}
for f in "$SWIFT" "$HEADER" "$MODULEMAP" "$CORE_SWIFT" "$CORE_HEADER" "$CORE_MODULEMAP"; do [ -f "$f" ] || die "not generated: $f"; done
expect "$MODULEMAP" 'module EnlistFFI {'
expect "$MODULEMAP" 'header "EnlistFFI.h"'
expect "$CORE_MODULEMAP" 'module EnlistCoreFFI {'
expect "$CORE_SWIFT" 'import EnlistCoreFFI'
expect "$HEADER" 'uniffi_enlist_ffi_fn_constructor_enlist_in_memory'
expect "$HEADER" 'uniffi_enlist_ffi_fn_constructor_enlist_open_sqlite'
expect "$HEADER" 'uniffi_enlist_ffi_fn_method_enlist_invite'
expect "$HEADER" 'uniffi_enlist_ffi_fn_init_callback_vtable_mailer'
expect "$HEADER" 'uniffi_enlist_ffi_fn_init_callback_vtable_clock'
expect "$SWIFT" 'import EnlistFFI'
expect "$SWIFT" 'open class Enlist: EnlistProtocol'
expect "$SWIFT" 'public static func inMemory(clock: Clock? = nil, config: EngineConfig? = nil, secretKey: Data? = nil, sealingKeys: [SealingKeySpec] = [], linkKeys: [Data] = [])throws  -> Enlist'
expect "$SWIFT" 'public static func openSqlite(path: String, clock: Clock? = nil, config: EngineConfig? = nil, secretKey: Data? = nil, sealingKeys: [SealingKeySpec] = [], linkKeys: [Data] = [])throws  -> Enlist'
expect "$SWIFT" 'open func outboxMessageIn(orgId: OrgId, actor: Actor, messageId: MessageId)throws  -> OutboxMessage'
expect "$CORE_SWIFT" 'public var allowedAcceptUrlBases: [String]'
expect "$CORE_SWIFT" 'public var lockedUntil: DateTime?'
expect "$SWIFT" 'open func createOrganization(new: NewOrganization)throws  -> CreatedOrganization'
expect "$SWIFT" 'open func invite(orgId: OrgId, actor: Actor, request: InviteRequest)throws  -> InviteReport'
expect "$SWIFT" 'open func listInvitations(orgId: OrgId, actor: Actor, query: InvitationQuery)throws  -> InvitationPage'
expect "$SWIFT" 'open func listMembers(orgId: OrgId, actor: Actor, query: MemberQuery)throws  -> MemberPage'
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
expect "$CORE_SWIFT" 'public struct InviteRequest'
# Commands take and return core's records; a report's CSV and codes are
# methods of core's record.
expect "$CORE_SWIFT" 'public struct CreatedOrganization'
expect "$CORE_SWIFT" 'public func csv() -> String'
expect "$CORE_SWIFT" 'public func code() -> String'
expect "$CORE_SWIFT" 'public enum Recipients'
expect "$SWIFT" 'public var createdAt: DateTime'
expect "$CORE_SWIFT" 'public var expiresAt: DateTime?'
# Returned records have no stored-only field: no secret hash crosses.
for f in "$SWIFT" "$CORE_SWIFT"; do
    if grep -qi 'secretHash' "$f"; then
        echo "FOUND in $(basename "$f"): secretHash"
        missing=$((missing + 1))
    else
        echo "ok   $(basename "$f"): no secretHash"
    fi
done
# Ids and times: custom types declared once, in core.
expect "$CORE_SWIFT" 'public typealias OrgId = String'
expect "$CORE_SWIFT" 'public typealias DateTime = Date'
expect "$SWIFT" 'public func parseRecipients(text: String)throws  -> ParsedRecipients'
# Secrets cross as objects that print as Secret(***), never as strings.
expect "$CORE_SWIFT" 'open func expose() -> String'
expect "$CORE_SWIFT" 'public typealias Secret = SecretText'
expect "$CORE_SWIFT" 'open class SecretText: SecretTextProtocol, @unchecked Sendable, CustomDebugStringConvertible, CustomStringConvertible'
expect "$CORE_SWIFT" 'public var secret: Secret?'
expect "$SWIFT" 'public var acceptUrl: Secret'
expect "$SWIFT" 'public struct SealingKeySpec'
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
COROUTINES_JAR=${COROUTINES_JAR:-/usr/share/java/kotlinx-coroutines-core.jar}
if [ ! -f "$COROUTINES_JAR" ]; then
    apt_install libkotlinx-coroutines-java
    [ -f "$COROUTINES_JAR" ] || die "libkotlinx-coroutines-java did not install $COROUTINES_JAR"
fi
# Debian's coroutines package does not depend on atomicfu, which it loads.
ATOMICFU_JAR=${ATOMICFU_JAR:-/usr/share/java/atomicfu.jar}
if [ ! -f "$ATOMICFU_JAR" ]; then
    apt_install libkotlinx-atomicfu-java
    [ -f "$ATOMICFU_JAR" ] || die "libkotlinx-atomicfu-java did not install $ATOMICFU_JAR"
fi
echo "kotlinc: $KOTLINC"
echo "JNA:     $JNA_JAR"
echo "coroutines: $COROUTINES_JAR (with $ATOMICFU_JAR)"

SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

# Makes the jar $1 of the folder $2 (jar, else zip, else Python's zipfile).
make_jar() {
    rm -f "$1"
    if command -v jar >/dev/null 2>&1; then
        jar --create --file "$1" -C "$2" .
    elif command -v zip >/dev/null 2>&1; then
        (cd "$2" && zip -qr "$1" .)
    elif command -v python3 >/dev/null 2>&1; then
        python3 -m zipfile -c "$1" "$2"/*
    else
        die "no jar, zip or python3 to make $1"
    fi
}

# The jars are rebuilt only when what goes into them changed (the Kotlin
# compiler is slow): each has a stamp, $JAR.inputs, with the hashes of its
# inputs and the tools' versions.
inputs_of() { # files...
    if command -v sha256sum >/dev/null 2>&1; then sha256sum "$@"; else shasum -a 256 "$@"; fi
    echo "kotlinc=$KOTLINC $KOTLIN_COMPILER_VERSION prefix=$JNA_RESOURCE_PREFIX"
}
up_to_date() { # jar, inputs
    if [ -f "$1" ] && [ -f "$1.inputs" ] && [ "$2" = "$(cat "$1.inputs")" ]; then
        echo "up to date (inputs unchanged since the last build)"
    else
        rm -f "$1" "$1.inputs"
        return 1
    fi
}

step "Build the library jar $LIB_JAR"
inputs=$(inputs_of "${KT_SOURCES[@]}" "$HAND_SOURCES"/*.kt "$LIB" "$JNA_JAR" "$COROUTINES_JAR")
if ! up_to_date "$LIB_JAR" "$inputs"; then
    CLASSES=$SCRATCH/classes
    mkdir -p "$CLASSES/$JNA_RESOURCE_PREFIX"
    "$KOTLINC" -nowarn -cp "$JNA_JAR:$COROUTINES_JAR" -module-name enlist-ffi "${KT_SOURCES[@]}" \
        "$HAND_SOURCES"/*.kt -d "$CLASSES"
    cp "$LIB" "$CLASSES/$JNA_RESOURCE_PREFIX/"
    make_jar "$LIB_JAR" "$CLASSES"
    echo "$inputs" >"$LIB_JAR.inputs"
fi
echo "$LIB_JAR: $(du -h "$LIB_JAR" | cut -f1), native library at $JNA_RESOURCE_PREFIX/$(basename "$LIB")"

step "Compile the test program against the library jar"
inputs=$(inputs_of "$TEST_SOURCES"/*.kt "$LIB_JAR" "$JNA_JAR" "$COROUTINES_JAR")
if ! up_to_date "$TEST_JAR" "$inputs"; then
    "$KOTLINC" -nowarn -cp "$LIB_JAR:$JNA_JAR:$COROUTINES_JAR" "$TEST_SOURCES"/*.kt -include-runtime -d "$TEST_JAR"
    echo "$inputs" >"$TEST_JAR.inputs"
fi

step "Run the Kotlin tests on the JVM, the library loaded from the jar"
java -cp "$TEST_JAR:$LIB_JAR:$JNA_JAR:$COROUTINES_JAR:$ATOMICFU_JAR" "$TEST_MAIN" "$SCRATCH/run"

echo
echo "Kotlin and Swift bindings: all checks passed."
