// jemalloc's start-up options for the CLIs (linked in only when jemalloc is;
// see cmake/BitnpuDependencies.cmake). jemalloc reads this symbol before the
// first allocation; the MALLOC_CONF environment variable still overrides it.
//
// The tools allocate and free tensors of up to hundreds of MiB layer after
// layer (the search tries several candidates per layer). Fresh memory costs
// a page fault per page and the kernel zeroing it, so:
// - thp:always asks for transparent huge pages (madvise(MADV_HUGEPAGE)):
//   one fault per 2 MiB instead of per 4 KiB. Where the kernel's THP mode
//   is "never" this is a no-op; where it is "always" pages were huge already.
// - dirty_decay_ms:-1 keeps freed pages for reuse instead of returning them
//   to the kernel as the run goes on: a batch tool ends soon anyway.
// Measured on this 2-core VM, calib on torchvision resnet18 at 96x96, 64
// samples, 2 threads: 4 KiB pages and jemalloc's default decay 6.4 s (418k
// page faults, peak RSS 223 MB); huge pages 3.3 s (42k, 275 MB); huge pages
// and no decay 2.5 s (3k, 362 MB). The zoo resnet: 0.26 -> 0.22 s.
// A 1 s decay instead (2026-12-07) cut the peak resident set by 20-30 %
// (M-LSD 320 tiny 1497 -> 1179 MB, IS-Net 11.8 -> 8.2 GB) at no cost on
// the small models, but made IS-Net's calibration 35 % slower (149 -> 200 s;
// 10 s the same): its 1024x1024 maps are freed and faulted in again layer
// after layer. Speed won; calib's memory plan (--memory-mb) budgets for it.
extern "C" {
extern const char* malloc_conf;
const char* malloc_conf = "thp:always,metadata_thp:auto,dirty_decay_ms:-1";
}
