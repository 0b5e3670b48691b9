/* A stand-in for Windows' bcryptprimitives.dll, for running Rust programs under Wine 8.0 (Debian 12).
 *
 * Rust's std (1.78 and later) gets random bytes from ProcessPrng in bcryptprimitives.dll, which
 * Windows 10 and later have and Wine 8.0 does not, so every Rust .exe fails to start there with
 * "Library bcryptprimitives.dll ... not found". This DLL exports ProcessPrng on top of
 * RtlGenRandom (advapi32's SystemFunction036), which Wine has. `.ci/wine-run` builds it with
 * mingw and puts it in the Wine prefix's system32; it is never shipped. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
