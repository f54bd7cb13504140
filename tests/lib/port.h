/* tests/lib/port.h — support code for the suites and the benchmarks: a
 * free loopback TCP port for a server they start. */
#ifndef FOUNT_TESTS_LIB_PORT_H
#define FOUNT_TESTS_LIB_PORT_H

/* testlib_free_port returns a loopback TCP port that is free now and lies
 * outside the kernel's ephemeral range, so no outgoing connection takes it
 * before the server a test starts binds it; never the same one twice in a
 * process (0 if none is free). */
unsigned testlib_free_port(void);

#endif
