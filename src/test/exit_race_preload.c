/*
 * LD_PRELOAD shim of scripts/test-exit-race.sh: it widens, to tens of
 * milliseconds, a race of a worker's graceful exit that is otherwise a few
 * microseconds wide.  nginx's thread pool lets the worker go on as soon as
 * a pool thread has taken its exit task, while the thread is still in
 * pthread_exit(); the worker then unmaps the dynamic module (dlclose) and
 * exits.  Here a pool thread waits 30 ms before it leaves, and the main
 * thread 100 ms in exit(), after the dlclose: a thread-specific destructor
 * in the module's code would then run on unmapped memory (SIGSEGV).
 */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>


void
pthread_exit(void *rv)
{
    void  (*real)(void *);

    real = (void (*)(void *)) dlsym(RTLD_NEXT, "pthread_exit");
    usleep(30000);
    real(rv);
    __builtin_unreachable();
}


void
exit(int status)
{
    void  (*real)(int);

    real = (void (*)(int)) dlsym(RTLD_NEXT, "exit");

    if (syscall(SYS_gettid) == getpid()) {
        usleep(100000);
    }

    real(status);
    __builtin_unreachable();
}
