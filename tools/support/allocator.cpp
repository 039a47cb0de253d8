// jemalloc's start-up options for the CLIs (linked in only when jemalloc is;
// see cmake/BitnpuDependencies.cmake). jemalloc reads this symbol before the
// first allocation.
//
// thp:always asks the kernel for transparent huge pages on every heap
// mapping (madvise(MADV_HUGEPAGE)). calib and npusim touch tens to hundreds
// of MiB of fresh tensor memory; at 4 KiB a page fault each, those faults
// were about a tenth of calib's wall time (measured on resnet, 500 samples).
// Where the kernel's THP mode is "never" this is a no-op; where it is
// "always" the pages were huge already.
extern "C" {
extern const char* malloc_conf;
const char* malloc_conf = "thp:always,metadata_thp:auto";
}
