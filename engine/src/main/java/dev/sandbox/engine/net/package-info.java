/**
 * The host side of sandbox networking: a network namespace per sandbox with the TAP of its virtio-net device, a
 * veth pair to the host, NAT, and nftables rules for the egress policy ({@link dev.sandbox.engine.NetworkSpec}).
 *
 * <pre>
 *  guest eth0 169.254.0.21 ──(virtio-net / TAP)── tap0 169.254.0.22, MAC fixed          namespace sbx-N
 *                                                  veth0 = hostIp (pool + 4N + 2)      table inet sandbox
 *                                                    │ default route                    (NAT, egress policy)
 *  host ─────────────────────────────────── sbxNh = pool + 4N + 1                      table inet sbx_N (input guard)
 *                                            └─ forwarded, masqueraded out of any non-sandbox link: table inet sbx
 * </pre>
 *
 * <p>{@link dev.sandbox.engine.net.HostNetworking} is the engine-wide part (global table, forwarding, slots,
 * leftovers); {@link dev.sandbox.engine.net.SandboxNetns} is one sandbox's namespace and opens its TAP;
 * {@code NftRules} renders the rulesets and {@code Commands} runs {@code ip} and {@code nft}. Every guest has the
 * same address ({@link dev.sandbox.engine.net.GuestNetLayout}), so clones of a template need no change inside.
 */
package dev.sandbox.engine.net;
