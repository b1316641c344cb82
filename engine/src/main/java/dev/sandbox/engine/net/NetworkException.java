package dev.sandbox.engine.net;

import dev.sandbox.engine.EngineException;

/**
 * A failure of the host side of networking: a command ({@code ip}, {@code nft}) that failed or hung, with its stderr
 * in the message, a namespace that could not be entered, or a pool with no free slot. The host lacks or refuses
 * something, so its kind is {@link Kind#CONFIG}.
 */
public final class NetworkException extends EngineException {
    public NetworkException(String message) {
        super(Kind.CONFIG, message);
    }

    public NetworkException(String message, Throwable cause) {
        super(Kind.CONFIG, message, cause);
    }
}
