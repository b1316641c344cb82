package dev.sandbox.server;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Keeps the data dir to its owner: guest memory, snapshots and uploads hold whatever the sandboxes held. At start
 * the data dir and the VM folders under it become 0700 and the files in them 0600 (the engine writes new ones
 * there; with their folders closed, even a file it made more open is out of others' reach).
 */
final class PrivateFiles {

    private static final Logger LOG = LoggerFactory.getLogger(PrivateFiles.class);
    static final Set<PosixFilePermission> DIR = PosixFilePermissions.fromString("rwx------");
    static final Set<PosixFilePermission> FILE = PosixFilePermissions.fromString("rw-------");

    private PrivateFiles() {
    }

    static void lockDown(Path dataDir) {
        try {
            Files.createDirectories(dataDir);
            Files.setPosixFilePermissions(dataDir, DIR);
        } catch (UnsupportedOperationException | IOException e) {
            LOG.warn("cannot make {} private (0700): {}", dataDir, e.toString());
            return;
        }
        try (Stream<Path> all = Files.walk(dataDir, 3)) {
            for (Path p : all.toList()) {
                if (Files.isSymbolicLink(p)) {
                    continue;
                }
                Files.setPosixFilePermissions(p, Files.isDirectory(p) ? DIR : FILE);
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("cannot make every file under {} private: {}", dataDir, e.toString());
        }
    }
}
