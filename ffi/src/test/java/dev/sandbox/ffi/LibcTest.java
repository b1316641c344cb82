package dev.sandbox.ffi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class LibcTest {
    @Test
    void missingFileThrowsEnoentWithCallAndStrerror() {
        NativeException e = assertThrows(NativeException.class,
                () -> Libc.open("/nonexistent/sandbox-ffi-test", LinuxAbi.O_RDONLY, 0));
        assertEquals(Errno.ENOENT.value(), e.errno());
        assertTrue(e.is(Errno.ENOENT));
        assertEquals("ENOENT", e.errnoSymbol());
        assertEquals("open /nonexistent/sandbox-ffi-test: ENOENT (No such file or directory)", e.getMessage());
    }

    @Test
    void badFdThrowsEbadf() {
        NativeException e = assertThrows(NativeException.class, () -> Libc.close(-1));
        assertEquals("close: EBADF (Bad file descriptor)", e.getMessage());
    }

    @Test
    void ioctlOnANonDeviceNamesTheRequest() {
        try (EventFd fd = EventFd.create(false)) {
            NativeException e = assertThrows(NativeException.class, () -> Libc.ioctl(fd.fd(), "KVM_RUN", 0xae80, 0));
            assertTrue(e.getMessage().startsWith("ioctl KVM_RUN: ENOTTY"), e.getMessage());
        }
    }

    @Test
    void unknownErrnoStillHasASymbolAndText() {
        assertEquals("errno 200", Errno.symbol(200));
        assertEquals("errno -1", Errno.symbol(-1));
        assertTrue(new NativeException("x", 200).getMessage().startsWith("x: errno 200 ("));
    }

    @Test
    void getpidMatchesJava() {
        assertEquals(ProcessHandle.current().pid(), Libc.getpid());
    }
}
