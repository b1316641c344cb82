package dev.sandbox.engine.vmm.snapshot;

import dev.sandbox.engine.Cidr;
import dev.sandbox.engine.NetworkSpec;
import dev.sandbox.engine.SandboxSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ManifestTest {

    @Test
    void keepsTheNetworkPolicyAndSlot(@TempDir Path dir) throws Exception {
        SandboxSpec spec = new SandboxSpec("sb-1", "minimal", 1, 256).withNetwork(new NetworkSpec(false,
                List.of(Cidr.parse("198.51.100.0/24"), Cidr.parse("10.1.2.3")), List.of(Cidr.parse("203.0.113.0/24"))));
        Manifest.write(dir, spec, OptionalInt.of(17));
        assertEquals(spec, Manifest.read(dir));
        assertEquals(OptionalInt.of(17), Manifest.netSlot(dir));
    }

    @Test
    void aSandboxWithoutNetworkHasNoSlot(@TempDir Path dir) throws Exception {
        SandboxSpec spec = new SandboxSpec("sb-2", "minimal", 2, 512);
        Manifest.write(dir, spec);
        assertEquals(spec, Manifest.read(dir));
        assertEquals(OptionalInt.empty(), Manifest.netSlot(dir));
    }

    @Test
    void keepsTheDiskSize(@TempDir Path dir) throws Exception {
        SandboxSpec spec = new SandboxSpec("sb-4", "python", 1, 512).withDiskMb(4096);
        Manifest.write(dir, spec);
        assertEquals(spec, Manifest.read(dir));
    }

    @Test
    void aBadNetworkValueIsRefused(@TempDir Path dir) throws Exception {
        SnapshotFile.write(dir.resolve(Manifest.FILE), ("id=sb-3\ntemplate=minimal\nvcpus=1\nmemory_mb=256\n"
                + "network.internet=true\nnetwork.allow_out=10.0.0.1/8\n").getBytes());
        assertThrows(SnapshotFormatException.class, () -> Manifest.read(dir));
        assertEquals(true, Files.exists(dir.resolve(Manifest.FILE)));
    }
}
