# certs scenarios: scen.sh NAME PEERCERT BOXSTART
C=/tmp/certlab
BI="aes256gcm16-prfsha384-ecp384,aes256gcm16-prfsha256-x25519,aes256-sha256-modp2048"
BE="aes256gcm16-ecp384,aes256gcm16-x25519,aes256-sha256-modp2048"
mkconf() { # out local remote version cert key cacert lts rts start
cat > $1 <<EOC
connections { t { version = $4
 local_addrs = $2
 remote_addrs = $3
 proposals = $BI
 local { auth = pubkey
 certs = $C/$5.pem }
 remote { auth = pubkey
 cacerts = $C/$7.pem
 id = %any }
 children { t { local_ts = $8
 remote_ts = $9
 esp_proposals = $BE
 start_action = ${10} } } } }

EOC
}
name=$1; pc=$2; bstart=$3; pca=${4:-ca}; ver=${5:-2}
pstart=start; [ $bstart = start ] && pstart=none
mkconf /tmp/lab/b.conf 192.0.2.1 192.0.2.2 $ver box box ca 100.64.0.0/10 10.9.0.0/24 $bstart
sed -i 's/connections { t /connections { site-a /; s/children { t /children { site-a /' /tmp/lab/b.conf
mkconf /tmp/lab/p.conf 192.0.2.2 192.0.2.1 $ver $pc $pc $pca 10.9.0.0/24 100.64.0.0/10 $pstart
BOXKEY=$C/box.key PEERKEY=$C/$pc.key bash $C/certlab.sh $name /tmp/lab/b.conf /tmp/lab/p.conf ""
echo == $name
