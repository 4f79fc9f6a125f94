source /tmp/lab/conn.fn
BI="aes256gcm16-prfsha384-ecp384,aes256gcm16-prfsha256-x25519,aes256-sha256-modp2048"
BE="aes256gcm16-ecp384,aes256gcm16-x25519,aes256-sha256-modp2048"
PSK=correct-horse-battery-staple-42
box() { # version start [rid]
 conn site-a 192.0.2.1 192.0.2.2 $1 $BI $BE 100.64.0.0/10 10.9.0.0/24 192.0.2.1 ${3:-192.0.2.2} $PSK $2 | sed 's/connections { t /connections { site-a /; s/children { t /children { site-a /' > /tmp/lab/b.conf; }
peer() { # version ike esp lts rts lid rid psk start
 conn t 192.0.2.2 192.0.2.1 $1 $2 $3 $4 $5 $6 $7 $8 $9 > /tmp/lab/p.conf; }
one() { /tmp/lab/lab.sh $1 /tmp/lab/b.conf /tmp/lab/p.conf "${2:-}"; echo "== $1"; }
case $1 in
ike-resp) box 2 none; peer 2 aes128-sha1-modp1024 aes128-sha1 10.9.0.0/24 100.64.0.0/10 192.0.2.2 192.0.2.1 $PSK start; one $1;;
ike-init) box 2 start; peer 2 aes128-sha1-modp1024,3des-md5-modp1024 aes128-sha1 10.9.0.0/24 100.64.0.0/10 192.0.2.2 192.0.2.1 $PSK none; one $1;;
esp-resp) box 2 none; peer 2 $BI aes128-sha1-modp1024 10.9.0.0/24 100.64.0.0/10 192.0.2.2 192.0.2.1 $PSK start; one $1;;
esp-init) box 2 start; peer 2 $BI aes128-sha1-modp1024 10.9.0.0/24 100.64.0.0/10 192.0.2.2 192.0.2.1 $PSK none; one $1;;
v1-esp-resp) box 1 none; peer 1 aes256-sha256-modp2048 aes128-sha1-modp2048,aes256-sha1 10.9.0.0/24 100.64.0.0/10 192.0.2.2 192.0.2.1 $PSK start; one $1;;
v1-ike-resp) box 1 none; peer 1 aes128-sha1-modp1024 aes128-sha1 10.9.0.0/24 100.64.0.0/10 192.0.2.2 192.0.2.1 $PSK start; one $1;;
v1-ike-init) box 1 start; peer 1 aes128-sha1-modp1024 aes128-sha1 10.9.0.0/24 100.64.0.0/10 192.0.2.2 192.0.2.1 $PSK none; one $1;;
v1-esp-init) box 1 start; peer 1 aes256-sha256-modp2048 aes128-sha1 10.9.0.0/24 100.64.0.0/10 192.0.2.2 192.0.2.1 $PSK none; one $1;;
ts-resp) box 2 none; peer 2 $BI $BE 10.8.0.0/24 100.64.0.0/10 192.0.2.2 192.0.2.1 $PSK start; one $1;;
ts-init) box 2 start; peer 2 $BI $BE 10.8.0.0/24 100.64.0.0/10 192.0.2.2 192.0.2.1 $PSK none; one $1;;
id-resp) box 2 none; peer 2 $BI $BE 10.9.0.0/24 100.64.0.0/10 wrong.example.net 192.0.2.1 $PSK start; one $1;;
id-init) box 2 start; peer 2 $BI $BE 10.9.0.0/24 100.64.0.0/10 wrong.example.net 192.0.2.1 $PSK none; one $1;;
id-init-any) box 2 start %any; peer 2 $BI $BE 10.9.0.0/24 100.64.0.0/10 wrong.example.net 192.0.2.1 $PSK none; one $1;;
psk-resp) box 2 none; peer 2 $BI $BE 10.9.0.0/24 100.64.0.0/10 192.0.2.2 192.0.2.1 wrong-key-wrong-key-123 start; one $1;;
psk-init) box 2 start; peer 2 $BI $BE 10.9.0.0/24 100.64.0.0/10 192.0.2.2 192.0.2.1 wrong-key-wrong-key-123 none; one $1;;
v1-psk-resp) box 1 none; peer 1 aes256-sha256-modp2048 $BE 10.9.0.0/24 100.64.0.0/10 192.0.2.2 192.0.2.1 wrong-key-wrong-key-123 start; one $1;;
v1-psk-init) box 1 start; peer 1 aes256-sha256-modp2048 $BE 10.9.0.0/24 100.64.0.0/10 192.0.2.2 192.0.2.1 wrong-key-wrong-key-123 none; one $1;;
vid-resp) box 2 none; peer 2 $BI $BE 10.9.0.0/24 100.64.0.0/10 192.0.2.2 192.0.2.1 $PSK start; one $1 "send_vendor_id = yes";;
v1vid-resp) box 1 none; peer 1 aes256-sha256-modp2048 aes256-sha256-modp2048 10.9.0.0/24 100.64.0.0/10 192.0.2.2 192.0.2.1 $PSK start; one $1 "send_vendor_id = yes";;
esac
conn () 
{ 
    cat <<EOC
connections { t { version = $4
 local_addrs = $2
 remote_addrs = $3
 proposals = $5
 local { auth = psk
 id = $9 }
 remote { auth = psk
 id = ${10} }
 children { t { local_ts = $7
 remote_ts = $8
 esp_proposals = $6
 start_action = ${12} } } } }
secrets { ike-t { id-a = $9
 id-b = ${10}
 secret = "${11}" } }
EOC

}
# Certificate cases (cert-*.log) come from certscen.sh beside this file
# (copy certmk.sh, certscen.sh and certlab.sh to /tmp/certlab; run certmk.sh,
# then e.g. `bash certscen.sh cert-expired-resp expired none`): this setup
# with auth = pubkey, a test CA and a second CA made with the openssl CLI,
# the box's and the peer's certificates from the first, an expired peer
# certificate, and a peer certificate from the second CA.
