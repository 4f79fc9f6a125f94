#!/bin/bash
# lab.sh SCEN BOXCONN PEERCONN : runs box+peer charon, loads confs, lets initiation happen, dumps logs
set -u
S=$1; BOXC=$2; PEERC=$3; EXTRA_PEER_CONF=${4:-}
D=/tmp/lab/$S; rm -rf $D; mkdir -p $D
ip netns del labb 2>/dev/null; ip netns del labp 2>/dev/null
ip netns add labb; ip netns add labp
ip link add labw type veth peer name labs
ip link set labw netns labb; ip link set labs netns labp
ip -n labb addr add 192.0.2.1/24 dev labw; ip -n labb link set labw up; ip -n labb link set lo up
ip -n labp addr add 192.0.2.2/24 dev labs; ip -n labp link set labs up; ip -n labp link set lo up
mk() { cat > $D/$1.conf <<EOC
charon {
	load = random nonce openssl kdf pem pkcs1 x509 kernel-libipsec kernel-netlink socket-default vici
	install_routes = no
	retransmit_tries = 1
	retransmit_timeout = 1
	$2
	plugins { vici { socket = unix://$D/$1.vici } }
	filelog { stderr { default = 1
	ike_name = yes } }
	syslog { daemon { default = -1 } }
}
EOC
}
mk box ""
mk peer "$EXTRA_PEER_CONF"
run() { ip netns exec lab$1 unshare --mount --propagation private sh -c "mount -t tmpfs tmpfs /run && exec env STRONGSWAN_CONF=$D/$2.conf /usr/lib/ipsec/charon" >$D/$2.log 2>&1 & echo $! > $D/$2.pid; }
run b box; run p peer
for i in $(seq 50); do [ -S $D/box.vici ] && [ -S $D/peer.vici ] && break; sleep 0.1; done
( STRONGSWAN_CONF=$D/box.conf swanctl --log --uri unix://$D/box.vici --raw > $D/box.vicilog 2>&1 & echo $! > $D/vlog.pid )
sleep 0.3
mkdir -p $D/b/ecdsa $D/p/ecdsa; cp $BOXC $D/b/swanctl.conf; cp $PEERC $D/p/swanctl.conf; cp $BOXKEY $D/b/ecdsa/; cp $PEERKEY $D/p/ecdsa/
lb() { STRONGSWAN_CONF=$D/box.conf swanctl --load-all --noprompt --file $D/b/swanctl.conf --uri unix://$D/box.vici >>$D/load.out 2>&1; }
lp() { STRONGSWAN_CONF=$D/peer.conf swanctl --load-all --noprompt --file $D/p/swanctl.conf --uri unix://$D/peer.vici >$D/load.out 2>&1; }
if grep -q "start_action = start" $D/p/swanctl.conf; then lb; lp; else lp; lb; fi
sleep ${WAIT:-6}
kill $(cat $D/vlog.pid) 2>/dev/null
kill $(cat $D/box.pid) $(cat $D/peer.pid) 2>/dev/null
sleep 0.5
ip netns del labb; ip netns del labp
