/* A program that floods its standard output, forever. */
#include <stdio.h>
#include <string.h>

int main(void) {
  char line[1025];
  memset(line, 'x', 1024);
  line[1024] = '\n';
  for (;;) fwrite(line, 1, sizeof line, stdout);
}
