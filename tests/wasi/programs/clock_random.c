/* Clocks and randomness: prints the wall clock, how much monotonic time a loop took, a sleep, and random bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(void) {
  struct timespec a, b, wall;
  clock_gettime(CLOCK_REALTIME, &wall);
  printf("realtime: %lld\n", (long long)wall.tv_sec);
  clock_gettime(CLOCK_MONOTONIC, &a);
  volatile uint64_t sum = 0;
  for (int i = 0; i < 100000; i++) sum += i;
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("loop: %lld ns\n", (long long)((b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec)));
  usleep(250000);
  clock_gettime(CLOCK_MONOTONIC, &a);
  printf("after sleep: %lld ns later\n", (long long)((a.tv_sec - b.tv_sec) * 1000000000LL + (a.tv_nsec - b.tv_nsec)));
  unsigned char bytes[8];
  arc4random_buf(bytes, sizeof bytes);
  printf("random:");
  for (int i = 0; i < 8; i++) printf(" %02x", bytes[i]);
  printf("\n");
  return 0;
}
