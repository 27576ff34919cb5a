//! The write connection's VFS: SQLite's default VFS, except that a WAL
//! file's frames are written in as few system calls as possible
//! (ADR 0021 in the book: docs/src/adr/0021-wal-frames-in-one-write.md).
//!
//! SQLite writes each WAL frame with two writes, its 24-byte header and
//! then its page: about 62 `pwrite` calls for an accept's 31 pages, and
//! those calls were a quarter of an accept's time. This VFS opens every
//! file through the default VFS; for a WAL file only, it keeps writes that
//! continue one another in a buffer of at most [`LIMIT`] bytes and writes
//! the buffer out in one call:
//!
//! - at a **commit frame's header**: the frame whose header holds the
//!   size of the database after the commit (bytes 4-7 of the header, zero
//!   in every other frame: SQLite's WAL file format). The header is
//!   written out with every frame before it, and the commit frame's page,
//!   which follows, is written through. So every frame of a commit is in
//!   the file before SQLite makes the commit visible in the WAL index,
//!   and a failed write fails one of the commit's own writes, so the
//!   commit fails. (Not at the end of the commit frame's page: when a
//!   transaction overwrote frames in place, SQLite rewrites their headers
//!   after the commit frame, the commit frame's header last, with no page
//!   after it; a header waiting for a page would be left in the buffer
//!   while SQLite publishes the commit. A property test found that.)
//! - before any read, sync, truncate, size query, lock or file control of
//!   the WAL file, and before its close;
//! - before a write that does not continue the buffer, or that would take
//!   it past [`LIMIT`].
//!
//! Only the frames' shape is buffered: a 24-byte write (a frame header;
//! the WAL's own header is 32 bytes, a page at least 512) starts a buffer,
//! and only a write that continues it joins it. Anything else is written
//! through at once, as the default VFS would. Frames buffered and not
//! followed by a commit frame (a transaction's pages spilled to the WAL
//! before its commit) are invisible to every other connection until a
//! commit frame publishes them; this connection reads them back only
//! through `xRead`, which writes the buffer out first.
//!
//! Every other file (the database, its `-shm`, temporary files) is the
//! default VFS's own file, untouched: this VFS's `xOpen` hands it to the
//! default VFS's `xOpen` and its methods are the default VFS's.
#![allow(unsafe_code)]

use rusqlite::ffi;
use std::ffi::{CStr, c_char, c_int, c_void};
use std::ptr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicPtr, Ordering};

/// The VFS's name, for `Connection::open_with_flags_and_vfs`.
pub(crate) const NAME: &CStr = c"enlist-wal-frames";

/// The most a WAL file's buffer holds: the default `unix` VFS writes at
/// most 128 KiB in one call (`seekAndWriteFd` masks the length with
/// `0x1ffff`), so a larger buffer would be cut short.
const LIMIT: usize = 0x1ffff;

#[cfg(test)]
thread_local! {
    /// Writes this thread's WAL files made to the default VFS (tests).
    pub(crate) static WAL_WRITES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Counts one write to the default VFS (tests only).
fn counted() {
    #[cfg(test)]
    WAL_WRITES.with(|n| n.set(n.get() + 1));
}

/// The default VFS this one wraps.
static REAL: AtomicPtr<ffi::sqlite3_vfs> = AtomicPtr::new(ptr::null_mut());

/// A WAL file: SQLite's `sqlite3_file` (our methods), the default VFS's
/// file after it, and the buffer.
#[repr(C)]
struct WalFile {
    base: ffi::sqlite3_file,
    real: *mut ffi::sqlite3_file,
    buf: Vec<u8>,
    /// The file offset of `buf[0]`.
    at: i64,
}

/// Where the default VFS's file starts in ours (8-byte aligned).
const HEAD: usize = std::mem::size_of::<WalFile>().next_multiple_of(8);

/// Registers the VFS (once, over the default VFS of that moment) and
/// returns its name; `None` if SQLite has no default VFS, and the store
/// then opens through the default VFS itself.
pub(crate) fn register() -> Option<&'static CStr> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        // SAFETY: sqlite3_vfs_find returns a pointer SQLite owns for the
        // life of the process; the copy registered here is leaked, so it
        // lives as long.
        unsafe {
            let real = ffi::sqlite3_vfs_find(ptr::null());
            if real.is_null() {
                return false;
            }
            REAL.store(real, Ordering::Release);
            let mut vfs: ffi::sqlite3_vfs = ptr::read(real);
            let Ok(size) = c_int::try_from(HEAD + (*real).szOsFile as usize) else {
                return false;
            };
            vfs.szOsFile = size;
            vfs.zName = NAME.as_ptr();
            vfs.pNext = ptr::null_mut();
            vfs.xOpen = Some(x_open);
            let vfs = Box::leak(Box::new(vfs));
            ffi::sqlite3_vfs_register(vfs, 0) == ffi::SQLITE_OK
        }
    });
    ok.then_some(NAME)
}

fn real_vfs() -> *mut ffi::sqlite3_vfs {
    REAL.load(Ordering::Acquire)
}

unsafe extern "C" fn x_open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let real_vfs = real_vfs();
    // SAFETY: SQLite gives `file` of our szOsFile bytes; the default VFS's
    // file fits at its start (other files) or at HEAD (WAL files).
    unsafe {
        let Some(open) = (*real_vfs).xOpen else {
            return ffi::SQLITE_ERROR;
        };
        if flags & ffi::SQLITE_OPEN_WAL == 0 {
            return open(real_vfs, name, file, flags, out_flags);
        }
        (*file).pMethods = ptr::null();
        let real = file.cast::<u8>().add(HEAD).cast::<ffi::sqlite3_file>();
        let rc = open(real_vfs, name, real, flags, out_flags);
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        ptr::write(
            file.cast::<WalFile>(),
            WalFile {
                base: ffi::sqlite3_file { pMethods: &METHODS },
                real,
                buf: Vec::new(),
                at: 0,
            },
        );
        ffi::SQLITE_OK
    }
}

/// SAFETY (for every method below): SQLite calls them only with a file
/// our `x_open` initialized as a `WalFile` (its `pMethods` is `METHODS`),
/// from one thread at a time, until `x_close`.
unsafe fn wal<'a>(f: *mut ffi::sqlite3_file) -> &'a mut WalFile {
    unsafe { &mut *f.cast::<WalFile>() }
}

unsafe fn real_methods<'a>(w: &WalFile) -> &'a ffi::sqlite3_io_methods {
    unsafe { &*(*w.real).pMethods }
}

/// Writes the buffer out (nothing if empty).
unsafe fn flush(w: &mut WalFile) -> c_int {
    if w.buf.is_empty() {
        return ffi::SQLITE_OK;
    }
    let Ok(len) = c_int::try_from(w.buf.len()) else {
        return ffi::SQLITE_IOERR_WRITE;
    };
    counted();
    let rc = unsafe {
        match real_methods(w).xWrite {
            Some(write) => write(w.real, w.buf.as_ptr().cast(), len, w.at),
            None => ffi::SQLITE_IOERR_WRITE,
        }
    };
    w.buf.clear();
    rc
}

unsafe extern "C" fn x_close(f: *mut ffi::sqlite3_file) -> c_int {
    unsafe {
        let w = wal(f);
        let rc = flush(w);
        let closed = match real_methods(w).xClose {
            Some(close) => close(w.real),
            None => ffi::SQLITE_OK,
        };
        ptr::drop_in_place(&mut w.buf);
        if rc != ffi::SQLITE_OK { rc } else { closed }
    }
}

unsafe extern "C" fn x_write(
    f: *mut ffi::sqlite3_file,
    data: *const c_void,
    amt: c_int,
    off: i64,
) -> c_int {
    unsafe {
        let w = wal(f);
        let Ok(len) = usize::try_from(amt) else {
            return ffi::SQLITE_IOERR_WRITE;
        };
        if len == 0 {
            return ffi::SQLITE_OK;
        }
        let bytes = std::slice::from_raw_parts(data.cast::<u8>(), len);
        let continues =
            !w.buf.is_empty() && off == w.at + w.buf.len() as i64 && w.buf.len() + len <= LIMIT;
        let header = len == 24;
        if !continues {
            let rc = flush(w);
            if rc != ffi::SQLITE_OK {
                return rc;
            }
            if !header {
                // Not the shape buffered: written through.
                counted();
                return match real_methods(w).xWrite {
                    Some(write) => write(w.real, data, amt, off),
                    None => ffi::SQLITE_IOERR_WRITE,
                };
            }
            w.at = off;
        }
        w.buf.extend_from_slice(bytes);
        if header && bytes[4..8] != [0, 0, 0, 0] {
            // A commit frame's header: written out now, with every frame
            // before it. Its page follows at once (written through), or,
            // when SQLite rewrites the checksums of frames it overwrote in
            // place, nothing: the header must not wait in the buffer while
            // SQLite publishes the commit.
            return flush(w);
        }
        ffi::SQLITE_OK
    }
}

/// A method that writes the buffer out first, then forwards.
macro_rules! flushing {
    ($name:ident, $field:ident, ($($arg:ident: $ty:ty),*), $err:expr) => {
        unsafe extern "C" fn $name(f: *mut ffi::sqlite3_file, $($arg: $ty),*) -> c_int {
            unsafe {
                let w = wal(f);
                let rc = flush(w);
                if rc != ffi::SQLITE_OK {
                    return rc;
                }
                match real_methods(w).$field {
                    Some(m) => m(w.real, $($arg),*),
                    None => $err,
                }
            }
        }
    };
}

flushing!(
    x_read,
    xRead,
    (data: *mut c_void, amt: c_int, off: i64),
    ffi::SQLITE_IOERR_READ
);
flushing!(x_truncate, xTruncate, (size: i64), ffi::SQLITE_IOERR_TRUNCATE);
flushing!(x_sync, xSync, (flags: c_int), ffi::SQLITE_IOERR_FSYNC);
flushing!(x_file_size, xFileSize, (size: *mut i64), ffi::SQLITE_IOERR_FSTAT);
flushing!(x_lock, xLock, (level: c_int), ffi::SQLITE_IOERR_LOCK);
flushing!(x_unlock, xUnlock, (level: c_int), ffi::SQLITE_IOERR_UNLOCK);
flushing!(
    x_check_reserved_lock,
    xCheckReservedLock,
    (out: *mut c_int),
    ffi::SQLITE_IOERR_CHECKRESERVEDLOCK
);
flushing!(
    x_file_control,
    xFileControl,
    (op: c_int, arg: *mut c_void),
    ffi::SQLITE_NOTFOUND
);
flushing!(
    x_shm_map,
    xShmMap,
    (region: c_int, size: c_int, extend: c_int, pp: *mut *mut c_void),
    ffi::SQLITE_IOERR_SHMMAP
);
flushing!(
    x_shm_lock,
    xShmLock,
    (offset: c_int, n: c_int, flags: c_int),
    ffi::SQLITE_IOERR_SHMLOCK
);
flushing!(x_shm_unmap, xShmUnmap, (delete: c_int), ffi::SQLITE_OK);
flushing!(
    x_fetch,
    xFetch,
    (off: i64, amt: c_int, pp: *mut *mut c_void),
    ffi::SQLITE_IOERR_READ
);
flushing!(x_unfetch, xUnfetch, (off: i64, p: *mut c_void), ffi::SQLITE_OK);

unsafe extern "C" fn x_sector_size(f: *mut ffi::sqlite3_file) -> c_int {
    unsafe {
        let w = wal(f);
        real_methods(w).xSectorSize.map_or(4096, |m| m(w.real))
    }
}

unsafe extern "C" fn x_device_characteristics(f: *mut ffi::sqlite3_file) -> c_int {
    unsafe {
        let w = wal(f);
        real_methods(w)
            .xDeviceCharacteristics
            .map_or(0, |m| m(w.real))
    }
}

unsafe extern "C" fn x_shm_barrier(f: *mut ffi::sqlite3_file) {
    unsafe {
        let w = wal(f);
        let _ = flush(w);
        if let Some(m) = real_methods(w).xShmBarrier {
            m(w.real);
        }
    }
}

static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(x_close),
    xRead: Some(x_read),
    xWrite: Some(x_write),
    xTruncate: Some(x_truncate),
    xSync: Some(x_sync),
    xFileSize: Some(x_file_size),
    xLock: Some(x_lock),
    xUnlock: Some(x_unlock),
    xCheckReservedLock: Some(x_check_reserved_lock),
    xFileControl: Some(x_file_control),
    xSectorSize: Some(x_sector_size),
    xDeviceCharacteristics: Some(x_device_characteristics),
    xShmMap: Some(x_shm_map),
    xShmLock: Some(x_shm_lock),
    xShmBarrier: Some(x_shm_barrier),
    xShmUnmap: Some(x_shm_unmap),
    xFetch: Some(x_fetch),
    xUnfetch: Some(x_unfetch),
};
