/* cli/main.c — placeholder until the CLI lands. */
#include <stdio.h>
int main(void) { puts("fount"); return 0; }
