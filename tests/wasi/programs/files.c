/* Files and folders: a tree made, written, read back, listed, renamed and unlinked; every step printed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void list(const char *path) {
  DIR *dir = opendir(path);
  if (!dir) { printf("opendir %s: %s\n", path, strerror(errno)); return; }
  char names[32][64];
  int n = 0;
  struct dirent *entry;
  while ((entry = readdir(dir)) && n < 32) {
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
    strncpy(names[n++], entry->d_name, 63);
  }
  closedir(dir);
  /* Sorted here, so the listing does not depend on the order a file system returns entries in. */
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++)
      if (strcmp(names[i], names[j]) > 0) { char t[64]; strcpy(t, names[i]); strcpy(names[i], names[j]); strcpy(names[j], t); }
  printf("%s:", path);
  for (int i = 0; i < n; i++) printf(" %s", names[i]);
  printf("\n");
}

int main(void) {
  FILE *in = fopen("/data/input.txt", "r");
  char line[256] = {0};
  if (!in || !fgets(line, sizeof line, in)) { printf("cannot read /data/input.txt\n"); return 1; }
  fclose(in);
  printf("read: %s", line);
  if (mkdir("/work", 0755) || mkdir("/work/a", 0755) || mkdir("/work/a/b", 0755)) { printf("mkdir: %s\n", strerror(errno)); return 2; }
  FILE *out = fopen("/work/a/b/copy.txt", "w");
  for (int i = 0; i < 3; i++) fprintf(out, "%d %s", i, line);
  fclose(out);
  FILE *more = fopen("/work/a/b/copy.txt", "a");
  fputs("appended\n", more);
  fclose(more);
  struct stat st;
  stat("/work/a/b/copy.txt", &st);
  printf("size: %lld\n", (long long)st.st_size);
  FILE *back = fopen("/work/a/b/copy.txt", "r");
  char buffer[512] = {0};
  size_t got = fread(buffer, 1, sizeof buffer - 1, back);
  fclose(back);
  printf("read back %zu bytes, last line: %s", got, strrchr(buffer, '\n') ? "appended\n" : "?\n");
  if (rename("/work/a/b/copy.txt", "/work/a/moved.txt")) printf("rename: %s\n", strerror(errno));
  int fd = open("/work/a/gone.txt", O_CREAT | O_WRONLY, 0644);
  write(fd, "x", 1);
  close(fd);
  if (unlink("/work/a/gone.txt")) printf("unlink: %s\n", strerror(errno));
  if (rmdir("/work/a/b")) printf("rmdir: %s\n", strerror(errno));
  if (rmdir("/work/a") == 0 || errno != ENOTEMPTY) printf("rmdir of a non-empty folder should fail\n");
  list("/");
  list("/work/a");
  list("/data");
  if (open("/data/missing", O_RDONLY) >= 0 || errno != ENOENT) printf("a missing file should be ENOENT\n");
  printf("done\n");
  return 0;
}
