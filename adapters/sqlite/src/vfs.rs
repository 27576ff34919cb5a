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
//! The database file is wrapped too, only so that every call SQLite makes
//! on it (locks, the WAL index's shared memory and its barrier, reads,
//! writes, close) first writes out its WAL's buffer. Frames a transaction
//! spilled and then rolled back are therefore written while this
//! connection still holds the write lock, as SQLite itself would have
//! written them: never later, over frames another writer committed in the
//! same place since (a test with two writers on one file lost that
//! writer's commit before this). A WAL file is linked to its database file
//! by the database's name (`sqlite3_filename_database`); a WAL file that
//! cannot be linked buffers nothing. Other files (journals, temporary
//! files) are the default VFS's own, untouched.
#![allow(unsafe_code)]

use rusqlite::ffi;
use std::ffi::{CStr, c_char, c_int, c_void};
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

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

#[cfg(test)]
thread_local! {
    /// Buffers this thread's WAL files write out that fail, with
    /// `SQLITE_FULL`, before any is written (tests).
    pub(crate) static FAIL_WAL_FLUSHES: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Counts one write of a WAL file to the default VFS (tests only).
fn counted() {
    #[cfg(test)]
    WAL_WRITES.with(|n| n.set(n.get() + 1));
}

/// Whether this write of a buffer fails on purpose (tests only).
fn failing() -> bool {
    #[cfg(test)]
    {
        FAIL_WAL_FLUSHES.with(|n| {
            let left = n.get();
            n.set(left.saturating_sub(1));
            left > 0
        })
    }
    #[cfg(not(test))]
    {
        false
    }
}

/// The default VFS this one wraps.
static REAL: AtomicPtr<ffi::sqlite3_vfs> = AtomicPtr::new(ptr::null_mut());

/// The database files open through this VFS: `(the name pointer SQLite
/// opened it with, the file)`, for linking a WAL file to its database.
static DATABASES: Mutex<Vec<(usize, usize)>> = Mutex::new(Vec::new());

/// A database or WAL file opened through this VFS: SQLite's
/// `sqlite3_file` (this VFS's methods), then ours, then, at [`HEAD`], the
/// default VFS's file.
#[repr(C)]
struct File {
    base: ffi::sqlite3_file,
    real: *mut ffi::sqlite3_file,
    wal: bool,
    /// A WAL file: its database file (null: not linked, so nothing is
    /// buffered). A database file: its WAL file while that is open.
    peer: *mut File,
    /// A WAL file: the writes kept, from file offset `at`.
    buf: Vec<u8>,
    at: i64,
}

/// Where the default VFS's file starts in ours (8-byte aligned).
const HEAD: usize = std::mem::size_of::<File>().next_multiple_of(8);

/// Registers the VFS (once, over the default VFS of that moment) and
/// returns its name; `None` if SQLite has no default VFS, and the store
/// then opens through the default VFS itself.
pub(crate) fn register() -> Option<&'static CStr> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        // SAFETY: sqlite3_vfs_find returns a pointer SQLite owns for the
        // life of the process; the copy registered here is leaked, so it
        // lives as long. Every method but xOpen is the default VFS's, and
        // the copy keeps its pAppData.
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

fn databases() -> std::sync::MutexGuard<'static, Vec<(usize, usize)>> {
    DATABASES.lock().unwrap_or_else(PoisonError::into_inner)
}

unsafe extern "C" fn x_open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let real_vfs = REAL.load(Ordering::Acquire);
    // SAFETY: SQLite gives `file` of our szOsFile bytes: the default VFS's
    // file fits at its start (files we do not wrap) or at HEAD.
    unsafe {
        let Some(open) = (*real_vfs).xOpen else {
            return ffi::SQLITE_ERROR;
        };
        let wal = flags & ffi::SQLITE_OPEN_WAL != 0;
        let main = flags & ffi::SQLITE_OPEN_MAIN_DB != 0;
        if !(wal || main) || name.is_null() {
            return open(real_vfs, name, file, flags, out_flags);
        }
        (*file).pMethods = ptr::null();
        let real = file.cast::<u8>().add(HEAD).cast::<ffi::sqlite3_file>();
        let rc = open(real_vfs, name, real, flags, out_flags);
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        let this = file.cast::<File>();
        let version = if (*real).pMethods.is_null() {
            1
        } else {
            (*(*real).pMethods).iVersion.clamp(1, 3)
        };
        ptr::write(
            this,
            File {
                base: ffi::sqlite3_file {
                    pMethods: &METHODS[(version - 1) as usize],
                },
                real,
                wal,
                peer: ptr::null_mut(),
                buf: Vec::new(),
                at: 0,
            },
        );
        let mut dbs = databases();
        if main {
            dbs.push((name as usize, this as usize));
        } else {
            let db_name = ffi::sqlite3_filename_database(name) as usize;
            if let Some(&(_, db)) = dbs.iter().find(|(n, _)| *n == db_name) {
                let db = db as *mut File;
                (*this).peer = db;
                (*db).peer = this;
            }
        }
        ffi::SQLITE_OK
    }
}

/// SAFETY (for every method below): SQLite calls them only with a file
/// our `x_open` initialized as a `File` (its `pMethods` one of `METHODS`), a
/// connection's files from one thread at a time, until `x_close`; a peer
/// is the same connection's other file, unlinked when either closes.
unsafe fn file<'a>(f: *mut ffi::sqlite3_file) -> &'a mut File {
    unsafe { &mut *f.cast::<File>() }
}

unsafe fn real_methods<'a>(f: &File) -> &'a ffi::sqlite3_io_methods {
    unsafe { &*(*f.real).pMethods }
}

/// Writes out the buffer of the WAL this file is or has (nothing if
/// empty or none).
unsafe fn flush_wal_of(f: &mut File) -> c_int {
    unsafe {
        if f.wal {
            flush(f)
        } else if f.peer.is_null() {
            ffi::SQLITE_OK
        } else {
            flush(&mut *f.peer)
        }
    }
}

/// Writes a WAL file's buffer out (nothing if empty).
unsafe fn flush(w: &mut File) -> c_int {
    if w.buf.is_empty() {
        return ffi::SQLITE_OK;
    }
    let Ok(len) = c_int::try_from(w.buf.len()) else {
        return ffi::SQLITE_IOERR_WRITE;
    };
    counted();
    if failing() {
        w.buf.clear();
        return ffi::SQLITE_FULL;
    }
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
        let this = file(f);
        let rc = flush_wal_of(this);
        if !this.peer.is_null() {
            (*this.peer).peer = ptr::null_mut();
        }
        if !this.wal {
            let me = f as usize;
            databases().retain(|(_, db)| *db != me);
        }
        let closed = match real_methods(this).xClose {
            Some(close) => close(this.real),
            None => ffi::SQLITE_OK,
        };
        ptr::drop_in_place(&mut this.buf);
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
        let w = file(f);
        let through = |w: &mut File| {
            counted_if(w.wal);
            match real_methods(w).xWrite {
                Some(write) => write(w.real, data, amt, off),
                None => ffi::SQLITE_IOERR_WRITE,
            }
        };
        let Ok(len) = usize::try_from(amt) else {
            return ffi::SQLITE_IOERR_WRITE;
        };
        if !w.wal || w.peer.is_null() || len == 0 {
            // A database file (its WAL written out first), or a WAL file
            // that buffers nothing.
            let rc = flush_wal_of(w);
            if rc != ffi::SQLITE_OK {
                return rc;
            }
            return through(w);
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
                return through(w);
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

/// Counts a write-through of a WAL file (tests only).
fn counted_if(wal: bool) {
    if wal {
        counted();
    }
}

/// A method that writes the WAL's buffer out first, then forwards.
macro_rules! flushing {
    ($name:ident, $field:ident, ($($arg:ident: $ty:ty),*), $err:expr) => {
        unsafe extern "C" fn $name(f: *mut ffi::sqlite3_file, $($arg: $ty),*) -> c_int {
            unsafe {
                let this = file(f);
                let rc = flush_wal_of(this);
                if rc != ffi::SQLITE_OK {
                    return rc;
                }
                match real_methods(this).$field {
                    Some(m) => m(this.real, $($arg),*),
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
        let this = file(f);
        real_methods(this)
            .xSectorSize
            .map_or(4096, |m| m(this.real))
    }
}

unsafe extern "C" fn x_device_characteristics(f: *mut ffi::sqlite3_file) -> c_int {
    unsafe {
        let this = file(f);
        real_methods(this)
            .xDeviceCharacteristics
            .map_or(0, |m| m(this.real))
    }
}

unsafe extern "C" fn x_shm_barrier(f: *mut ffi::sqlite3_file) {
    unsafe {
        let this = file(f);
        // No error to report here: the buffer is empty at every barrier
        // of a commit (written out at the commit frame's header).
        let _ = flush_wal_of(this);
        if let Some(m) = real_methods(this).xShmBarrier {
            m(this.real);
        }
    }
}

/// The methods of a wrapped file of method version `v` (that of the
/// default VFS's file: SQLite reads the shared-memory methods only from
/// version 2 on and the memory-map ones from version 3).
const fn methods(v: c_int) -> ffi::sqlite3_io_methods {
    ffi::sqlite3_io_methods {
        iVersion: v,
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
        xShmMap: if v >= 2 { Some(x_shm_map) } else { None },
        xShmLock: if v >= 2 { Some(x_shm_lock) } else { None },
        xShmBarrier: if v >= 2 { Some(x_shm_barrier) } else { None },
        xShmUnmap: if v >= 2 { Some(x_shm_unmap) } else { None },
        xFetch: if v >= 3 { Some(x_fetch) } else { None },
        xUnfetch: if v >= 3 { Some(x_unfetch) } else { None },
    }
}

static METHODS: [ffi::sqlite3_io_methods; 3] = [methods(1), methods(2), methods(3)];
