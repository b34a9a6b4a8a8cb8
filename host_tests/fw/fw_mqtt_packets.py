"""kit.mqtt packets against exact bytes, worked out by hand from the MQTT 3.1.1 specification
(OASIS standard, 29 October 2014; section numbers below). No network: pure functions."""

from fwhelp import check
from kit import mqtt


def same(got, want, what):
    check(got == want, "%s:\n got  %r\n want %r" % (what, got, want))


def test_connect_minimal():
    # 3.1.1 fixed header: type 1 << 4 = 0x10; remaining length 16 (= 10 variable header + 6
    # payload), one byte 0x10 (2.2.3).
    # 3.1.2 variable header: protocol name as a UTF-8 string, length first: 00 04 'MQTT';
    # protocol level 4 (3.1.2.2); connect flags 0x02 = clean session only (3.1.2.4);
    # keepalive 60 s big-endian: 00 3C (3.1.2.10).
    # 3.1.3 payload: the client id as a UTF-8 string: 00 04 'kit1'.
    want = b"\x10\x10" + b"\x00\x04MQTT" + b"\x04" + b"\x02" + b"\x00\x3c" + b"\x00\x04kit1"
    same(mqtt.connect_packet("kit1", 60), want, "CONNECT")


def test_connect_with_will_user_and_password():
    # flags (3.1.2.3, figure 3.4): user name 0x80 | password 0x40 | will retain 0x20 |
    # will QoS 1 << 3 = 0x08 | will flag 0x04 | clean session 0x02 = 0xEE.
    # payload order (3.1.3): client id, will topic, will message, user name, password, each
    # with a two-byte length: 6 + 5 + 5 + 3 + 4 = 23 bytes; remaining length 10 + 23 = 33 = 0x21.
    # keepalive 30 s = 00 1E.
    want = (b"\x10\x21" + b"\x00\x04MQTT\x04" + b"\xee" + b"\x00\x1e" + b"\x00\x04kit1"
            + b"\x00\x03w/t" + b"\x00\x03off" + b"\x00\x01u" + b"\x00\x02pw")
    got = mqtt.connect_packet("kit1", 30, True, ("w/t", b"off", 1, True), "u", "pw")
    same(got, want, "CONNECT with will, user, password")


def test_connect_will_without_retain_and_persistent_session():
    # will QoS 0, no retain: will flag 0x04 only; clean session 0 (3.1.2.4); keepalive 0 =
    # off (3.1.2.10). Payload 00 01 'c', 00 01 't', 00 00 (empty will message) = 8 bytes;
    # remaining length 18 = 0x12.
    want = b"\x10\x12\x00\x04MQTT\x04\x04\x00\x00" + b"\x00\x01c" + b"\x00\x01t" + b"\x00\x00"
    same(mqtt.connect_packet("c", 0, False, ("t", b"", 0, False)), want, "CONNECT will QoS 0")


def test_connect_rejects_what_the_spec_forbids():
    for kwargs, words in (({"password": "pw"}, "needs a user name"),
                          ({"keepalive_s": 65536}, "keepalive_s"),
                          ({"will": ("t", b"x", 3, False)}, "will qos"),
                          ({"will": ("", b"x", 0, False)}, "will topic"),
                          ({"clean_session": False}, "empty client_id")):
        try:
            mqtt.connect_packet("" if "clean_session" in kwargs else "c", **kwargs)
        except ValueError as e:
            check(words in str(e), "%r: %s" % (kwargs, e))
        else:
            raise AssertionError("accepted %r" % (kwargs,))


def test_publish_qos0():
    # 3.3.1: type 3 << 4 = 0x30, DUP 0, QoS 0, RETAIN 0. Remaining length: topic 2 + 3,
    # no packet id at QoS 0 (3.3.2.2), payload 2 = 7. Then 00 03 'a/b' and the payload as is.
    same(mqtt.publish_packet("a/b", b"hi"), b"\x30\x07\x00\x03a/bhi", "PUBLISH QoS 0")


def test_publish_qos1_retain_and_dup():
    # 0x30 | QoS 1 << 1 = 0x02 | RETAIN 0x01 = 0x33; remaining length 2 + 3 + 2 (packet id
    # 10 = 00 0A) + 2 = 9.
    want = b"\x33\x09\x00\x03a/b\x00\x0ahi"
    same(mqtt.publish_packet("a/b", b"hi", 1, True, False, 10), want, "PUBLISH QoS 1 retain")
    # the same message sent again (3.3.1.1): DUP 0x08 set, 0x3B
    same(mqtt.publish_packet("a/b", b"hi", 1, True, True, 10), b"\x3b" + want[1:], "DUP")


def test_publish_two_byte_length():
    # payload 200 bytes, topic 't': 2 + 1 + 200 = 203 = 0xCB -> 0xCB & 0x7F = 0x4B | 0x80 = CB,
    # 203 >> 7 = 1 -> 01 (2.2.3)
    got = mqtt.publish_packet("t", bytes(200))
    same(got[:6], b"\x30\xcb\x01\x00\x01t", "PUBLISH header, 203 bytes")
    check(len(got) == 206, len(got))


def test_publish_header_into_a_reused_buffer():
    buf = bytearray(32)
    n = mqtt.publish_header(buf, b"a/b", 2, 1, False, False, 0x1234)
    same(bytes(buf[:n]), b"\x32\x09\x00\x03a/b\x12\x34", "header only, payload follows")


def test_subscribe():
    # 3.8.1: type 8 with flags 0010 = 0x82; packet id 1 = 00 01; then per filter a UTF-8 string
    # and a requested-QoS byte (3.8.3): 00 03 'a/#' 01. Remaining length 2 + 5 + 1 = 8.
    same(mqtt.subscribe_packet(1, [(b"a/#", 1)]), b"\x82\x08\x00\x01\x00\x03a/#\x01", "SUBSCRIBE")
    # two filters in one packet (as after a reconnect): 2 + 6 + 4 = 12 = 0x0C
    same(mqtt.subscribe_packet(0x0102, [(b"x/+", 0), (b"y", 1)]),
         b"\x82\x0c\x01\x02\x00\x03x/+\x00\x00\x01y\x01", "SUBSCRIBE two filters")


def test_small_packets():
    buf = bytearray(8)
    n = mqtt.put_puback(buf, 0x1234)
    same(bytes(buf[:n]), b"\x40\x02\x12\x34", "PUBACK (3.4: 0x40, length 2, id)")
    same(mqtt._PINGREQ_PACKET, b"\xc0\x00", "PINGREQ (3.12: type 12 << 4, length 0)")
    same(mqtt._DISCONNECT_PACKET, b"\xe0\x00", "DISCONNECT (3.14: type 14 << 4, length 0)")


# Table 2.4 (2.2.3): the boundaries of one to four length bytes
LENGTHS = (
    (0, b"\x00"),
    (127, b"\x7f"),
    (128, b"\x80\x01"),
    (16383, b"\xff\x7f"),
    (16384, b"\x80\x80\x01"),
    (2097151, b"\xff\xff\x7f"),
    (2097152, b"\x80\x80\x80\x01"),
    (268435455, b"\xff\xff\xff\x7f"),
)


def test_remaining_length_vectors():
    buf = bytearray(6)
    for n, want in LENGTHS:
        end = mqtt.encode_length(n, buf, 1)
        same(bytes(buf[1:end]), want, "encode %d" % n)
        value, pos = mqtt.decode_length(b"\x30" + want + b"rest", 1)
        check((value, pos) == (n, 1 + len(want)), "decode %r -> %r" % (want, (value, pos)))


def test_remaining_length_beyond_four_bytes_refused():
    for n in (268435456, -1):
        try:
            mqtt.encode_length(n, bytearray(8), 0)
        except ValueError as e:
            check("268435455" in str(e), str(e))
        else:
            raise AssertionError("encoded %d" % n)
    for bad, words in ((b"\xff\xff\xff\xff\x7f", "longer than 4 bytes"),
                       (b"\x80\x80", "cut short")):
        try:
            mqtt.decode_length(bad)
        except ValueError as e:
            check(words in str(e), str(e))
        else:
            raise AssertionError("decoded %r" % bad)


def test_connack_codes_in_words():
    # 3.2.2.3, table 3.1
    want = ("connection accepted (0)", "unacceptable protocol version (1)",
            "identifier rejected (2)", "server unavailable (3)",
            "bad user name or password (4)", "not authorised (5)", "unknown return code (6)")
    for code, text in enumerate(want):
        same(mqtt.connack_text(code), text, "CONNACK %d" % code)
