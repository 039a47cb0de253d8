// libsystemc owns main() and calls sc_main, and the linker wants it
// defined in every program that links libsystemc, even one that only calls
// run_cycle_model from its own main() (calib's mixed-precision search and
// its tests, npusim, archsweep, the fuzz harnesses). bitnpu::systemc adds
// this file to each program that links it (an INTERFACE source): a weak
// sc_main returning 0, which a program's own sc_main (the SystemC test
// runner) replaces.
extern "C" __attribute__((weak)) int sc_main(int, char**) { return 0; }
