//! The allocator of `enlist`'s `MemoryStore` hash tables: a block of
//! 2 MiB or more is mapped on its own and marked for transparent huge
//! pages; smaller blocks, and every block off Linux, come from the global
//! allocator (ADR 0022, `docs/src/adr/0022-memory-tables-in-huge-pages.md`).
//!
//! A look-up in a table of a million entries lands on a page of its own
//! every time, and with 4 KiB pages each such page is also a miss of the
//! TLB: a page-table walk, which on a virtual machine walks the host's
//! tables as well. Linux gives a process huge pages only where it asks
//! for them (`transparent_hugepage/enabled` is `madvise` on most
//! distributions), and the process's allocator does not ask.
//!
//! It is a crate of its own so that `enlist` itself keeps forbidding
//! `unsafe` code: what is `unsafe` here is the three system calls and the
//! allocator contract they serve.
//!
//! ```
//! use enlist_huge_pages::HugePages;
//!
//! let mut map: hashbrown::HashMap<u64, u64, foldhash::fast::RandomState, HugePages> =
//!     hashbrown::HashMap::default();
//! map.insert(1, 2);
//! assert_eq!(map.get(&1), Some(&2));
//! ```
#![allow(unsafe_code)]

use allocator_api2::alloc::{AllocError, Allocator, Global, Layout};
use std::ptr::NonNull;

/// The size of a huge page on x86-64 and most AArch64 kernels: tables of
/// this size or more are mapped on their own.
pub const HUGE_PAGE: usize = 2 << 20;

/// Allocates blocks of [`HUGE_PAGE`] or more as their own anonymous
/// mappings, aligned to a huge page and advised `MADV_HUGEPAGE`; smaller
/// ones from the global allocator.
#[derive(Clone, Copy, Debug, Default)]
pub struct HugePages;

/// Whether a block of `layout` is mapped on its own. The answer depends on
/// the layout alone, so a block is given back the way it was taken.
fn mapped(layout: &Layout) -> bool {
    cfg!(target_os = "linux") && layout.size() >= HUGE_PAGE && layout.align() <= HUGE_PAGE
}

/// The length of the mapping of a block of `size` bytes: whole huge
/// pages.
fn mapping_len(size: usize) -> Option<usize> {
    size.checked_next_multiple_of(HUGE_PAGE)
}

// SAFETY: blocks from `Global` are given back to `Global` (same layout
// test both ways); a mapped block is valid, writable and aligned to
// `HUGE_PAGE` (and so to any alignment `mapped` accepts) until
// `deallocate` unmaps it. The allocator holds no state, so copies of it
// share every block.
unsafe impl Allocator for HugePages {
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        if !mapped(&layout) {
            return Global.allocate(layout);
        }
        map(layout.size())
    }

    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        if !mapped(&layout) {
            // SAFETY: the caller gives back a block this allocator gave
            // with this layout, which `allocate` took from `Global`.
            return unsafe { Global.deallocate(ptr, layout) };
        }
        unmap(ptr, layout.size());
    }
}

#[cfg(target_os = "linux")]
fn map(size: usize) -> Result<NonNull<[u8]>, AllocError> {
    let len = mapping_len(size).ok_or(AllocError)?;
    // One huge page more than the block, so that an aligned start lies
    // within; the slack on either side is unmapped at once.
    let span = len.checked_add(HUGE_PAGE).ok_or(AllocError)?;
    // SAFETY: a new private anonymous mapping; no memory of the process
    // is touched.
    let at = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            span,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if at == libc::MAP_FAILED {
        return Err(AllocError);
    }
    let start = at as usize;
    let aligned = start.next_multiple_of(HUGE_PAGE);
    let head = aligned - start;
    let tail = span - head - len;
    // SAFETY: both ranges lie within the mapping just made and outside
    // the block returned; page-aligned, as `start`, `aligned` and `len`
    // are. Failing to unmap slack would only leave it mapped.
    unsafe {
        if head > 0 {
            libc::munmap(at, head);
        }
        if tail > 0 {
            libc::munmap((aligned + len) as *mut libc::c_void, tail);
        }
        // Advice, not a demand: where the kernel has no huge page to give
        // (THP off, memory fragmented), the block is served by small
        // pages and works the same.
        libc::madvise(aligned as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
    }
    let ptr = NonNull::new(aligned as *mut u8).ok_or(AllocError)?;
    Ok(NonNull::slice_from_raw_parts(ptr, len))
}

#[cfg(target_os = "linux")]
fn unmap(ptr: NonNull<u8>, size: usize) {
    // The block was mapped with this length: `mapped` and `mapping_len`
    // give the same answers for any size between the one asked and the
    // one returned, both within the same whole huge pages.
    if let Some(len) = mapping_len(size) {
        // SAFETY: the caller gives back a block `map` returned, which is
        // a mapping of `len` bytes at `ptr`, no longer used.
        unsafe {
            libc::munmap(ptr.as_ptr().cast(), len);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn map(_size: usize) -> Result<NonNull<[u8]>, AllocError> {
    Err(AllocError)
}

#[cfg(not(target_os = "linux"))]
fn unmap(_ptr: NonNull<u8>, _size: usize) {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The `VmFlags` line of the mapping that holds `addr`, from
    /// `/proc/self/smaps`.
    fn vm_flags(addr: usize) -> String {
        let smaps = std::fs::read_to_string("/proc/self/smaps").expect("smaps");
        let mut inside = false;
        for line in smaps.lines() {
            if let Some((range, _)) = line.split_once(' ') {
                if let Some((a, b)) = range.split_once('-') {
                    if let (Ok(a), Ok(b)) =
                        (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
                    {
                        inside = a <= addr && addr < b;
                        continue;
                    }
                }
            }
            if inside {
                if let Some(flags) = line.strip_prefix("VmFlags:") {
                    return flags.to_string();
                }
            }
        }
        panic!("no mapping holds {addr:#x}");
    }

    #[test]
    fn a_large_block_is_its_own_aligned_mapping_advised_huge() {
        for size in [HUGE_PAGE, HUGE_PAGE + 1, 3 * HUGE_PAGE - 8] {
            let layout = Layout::from_size_align(size, 16).expect("layout");
            let block = HugePages.allocate(layout).expect("allocate");
            let at = block.cast::<u8>().as_ptr() as usize;
            assert_eq!(at % HUGE_PAGE, 0, "aligned to a huge page");
            assert!(block.len() >= size);
            assert_eq!(block.len() % HUGE_PAGE, 0);
            assert!(
                vm_flags(at).split_whitespace().any(|f| f == "hg"),
                "advised MADV_HUGEPAGE: {}",
                vm_flags(at)
            );
            // Writable end to end, and zeroed as a new mapping is.
            // SAFETY: the block holds `size` bytes.
            let bytes = unsafe { std::slice::from_raw_parts_mut(at as *mut u8, size) };
            assert!(bytes.iter().step_by(4096).all(|&b| b == 0));
            bytes[0] = 1;
            bytes[size - 1] = 2;
            // SAFETY: the block and layout `allocate` gave.
            unsafe { HugePages.deallocate(block.cast(), layout) };
        }
    }

    #[test]
    fn a_small_block_comes_from_the_global_allocator() {
        let layout = Layout::from_size_align(HUGE_PAGE - 1, 8).expect("layout");
        let block = HugePages.allocate(layout).expect("allocate");
        let at = block.cast::<u8>().as_ptr() as usize;
        // The global allocator's block of this size is not a mapping
        // advised for huge pages.
        assert!(!vm_flags(at).split_whitespace().any(|f| f == "hg"));
        // SAFETY: the block and layout `allocate` gave.
        unsafe { HugePages.deallocate(block.cast(), layout) };
    }

    #[test]
    fn a_table_past_a_huge_page_keeps_every_entry() {
        // 300,000 entries of 16 bytes: a table of several huge pages,
        // grown through each size from empty (every growth a new block,
        // the old one given back).
        let mut map: hashbrown::HashMap<u64, u64, foldhash::fast::RandomState, HugePages> =
            hashbrown::HashMap::default();
        for i in 0..300_000u64 {
            map.insert(i, i * 3);
        }
        assert!(map.allocation_size() >= HUGE_PAGE);
        assert!((0..300_000u64).all(|i| map.get(&i) == Some(&(i * 3))));
        for i in (0..300_000u64).step_by(2) {
            map.remove(&i);
        }
        map.shrink_to_fit();
        assert_eq!(map.len(), 150_000);
        assert!((1..300_000u64).step_by(2).all(|i| map[&i] == i * 3));
    }
}
