//! Keeping a service's resident memory close to what it uses.
//!
//! glibc's malloc raises its mmap threshold after a large block is freed, so later blocks of that
//! size come from the thread's arena and stay there after they are freed; with one arena per
//! thread (up to 8 per core) a burst of large short-lived buffers (an Argon2id hash takes
//! 19 MiB) leaves hundreds of MiB resident for good. A fixed threshold keeps every block of
//! 1 MiB or more in its own mapping, returned to the system when freed.

/// Blocks at least this large are mapped on their own and unmapped when freed.
pub const MMAP_THRESHOLD: usize = 1 << 20;

/// Fixes malloc's mmap threshold at [`MMAP_THRESHOLD`] (glibc only; elsewhere it does nothing).
pub fn release_large_allocations() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes malloc's tuning parameters (glibc takes its own locks, so
        // it is safe with other threads running), with a parameter and value glibc documents.
        let done = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD as libc::c_int) };
        if done != 1 {
            tracing::warn!(
                "mallopt(M_MMAP_THRESHOLD) failed: large freed blocks may stay resident"
            );
        }
    }
}
