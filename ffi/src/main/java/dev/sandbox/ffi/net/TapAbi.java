package dev.sandbox.ffi.net;

import static java.lang.foreign.MemoryLayout.paddingLayout;
import static java.lang.foreign.MemoryLayout.sequenceLayout;
import static java.lang.foreign.MemoryLayout.structLayout;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.sandbox.ffi.kvm.Ioctl;
import java.lang.foreign.StructLayout;

/**
 * Raw tier of TUN/TAP: the ioctls, flags and layouts of {@code <linux/if_tun.h>}, {@code <net/if.h>} and
 * {@code <linux/virtio_net.h>} that {@link Tap} uses. Every public field is named as its C macro or type, so the
 * ABI test prints each from C and compares.
 */
public final class TapAbi {
    private TapAbi() {}

    private static final int TUN_IOCTL_TYPE = 'T';

    // <net/if.h>
    public static final int IFNAMSIZ = 16;

    // <linux/if_tun.h>: TUNSETIFF flags
    public static final int IFF_TUN = 0x0001;
    public static final int IFF_TAP = 0x0002;
    public static final int IFF_NO_PI = 0x1000;
    public static final int IFF_VNET_HDR = 0x4000;

    // <linux/if_tun.h>: TUNSETOFFLOAD bits, what the reader of the TAP (we) can take from the kernel
    public static final int TUN_F_CSUM = 0x01;
    public static final int TUN_F_TSO4 = 0x02;
    public static final int TUN_F_TSO6 = 0x04;
    public static final int TUN_F_TSO_ECN = 0x08;
    public static final int TUN_F_UFO = 0x10;

    // <linux/if_tun.h>: the header declares the argument as int even where a struct ifreq is passed
    public static final Ioctl TUNSETIFF = Ioctl.iow("TUNSETIFF", TUN_IOCTL_TYPE, 202, JAVA_INT);
    public static final Ioctl TUNSETOFFLOAD = Ioctl.iow("TUNSETOFFLOAD", TUN_IOCTL_TYPE, 208, JAVA_INT);
    public static final Ioctl TUNSETVNETHDRSZ = Ioctl.iow("TUNSETVNETHDRSZ", TUN_IOCTL_TYPE, 216, JAVA_INT);

    // <linux/virtio_net.h>: the per-packet header an IFF_VNET_HDR TAP reads and writes
    public static final int VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
    public static final int VIRTIO_NET_HDR_F_DATA_VALID = 2;
    public static final int VIRTIO_NET_HDR_GSO_NONE = 0;
    public static final int VIRTIO_NET_HDR_GSO_TCPV4 = 1;
    public static final int VIRTIO_NET_HDR_GSO_UDP = 3;
    public static final int VIRTIO_NET_HDR_GSO_TCPV6 = 4;

    /*
     * struct ifreq {
     *     union { char ifrn_name[IFNAMSIZ]; } ifr_ifrn;          // #define ifr_name ifr_ifrn.ifrn_name
     *     union { struct sockaddr ifru_addr; ...; short ifru_flags; ...; struct ifmap ifru_map; ... } ifr_ifru;
     * };                                                         // #define ifr_flags ifr_ifru.ifru_flags
     * Only the two members TUNSETIFF reads are named; the rest of the 24-byte union is padding.
     */
    public static final StructLayout ifreq = structLayout(
            sequenceLayout(IFNAMSIZ, JAVA_BYTE).withName("ifr_name"),
            JAVA_SHORT.withName("ifr_flags"),
            paddingLayout(22)).withName("ifreq");

    /*
     * struct virtio_net_hdr_v1 {
     *     __u8 flags; __u8 gso_type; __virtio16 hdr_len; __virtio16 gso_size;
     *     union { struct { __virtio16 csum_start; __virtio16 csum_offset; }; ... };
     *     __virtio16 num_buffers;
     * };
     * Its size is what TUNSETVNETHDRSZ gets, so the TAP's header and the guest's are the same bytes.
     */
    public static final StructLayout virtio_net_hdr_v1 = structLayout(
            JAVA_BYTE.withName("flags"),
            JAVA_BYTE.withName("gso_type"),
            JAVA_SHORT.withName("hdr_len"),
            JAVA_SHORT.withName("gso_size"),
            JAVA_SHORT.withName("csum_start"),
            JAVA_SHORT.withName("csum_offset"),
            JAVA_SHORT.withName("num_buffers")).withName("virtio_net_hdr_v1");
}
