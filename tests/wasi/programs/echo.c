/* Arguments, environment and standard input: prints each argument, LANG, and its input upper-cased,
   then exits with the number of arguments. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  for (int i = 0; i < argc; i++) printf("arg %d: %s\n", i, argv[i]);
  const char *lang = getenv("LANG");
  printf("LANG=%s\n", lang ? lang : "(unset)");
  printf("HOME=%s\n", getenv("HOME") ? getenv("HOME") : "(unset)");
  int c, count = 0;
  while ((c = getchar()) != EOF) {
    putchar(toupper(c));
    count++;
  }
  printf("\n%d bytes of input\n", count);
  return argc;
}
