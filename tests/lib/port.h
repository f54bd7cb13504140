/* tests/lib/port.h — support code for the suites and the benchmarks: a
 * free loopback TCP port for a server they start. */
#ifndef FOUNT_TESTS_LIB_PORT_H
#define FOUNT_TESTS_LIB_PORT_H

/* testlib_free_port asks the kernel for a free loopback TCP port (0 if it
 * cannot) for a server a test starts. */
unsigned testlib_free_port(void);

#endif
