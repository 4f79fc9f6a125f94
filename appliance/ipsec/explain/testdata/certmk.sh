set -e
cd /tmp/certlab
ca() { openssl ecparam -genkey -name prime256v1 -noout -out $1.key; openssl req -x509 -new -key $1.key -subj "/O=Tunneler tests/CN=$2" -days 3650 -out $1.pem -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign; }
leaf() { # name cn ca startdate enddate
 openssl ecparam -genkey -name prime256v1 -noout -out $1.key
 openssl req -new -key $1.key -subj "/O=Tunneler tests/CN=$2" -out $1.csr
 printf '[ca]\ndefault_ca=c\n[c]\ndatabase=%s/idx\nnew_certs_dir=%s\nserial=%s/serial\ndefault_md=sha256\npolicy=p\ncopy_extensions=copy\n[p]\ncommonName=supplied\norganizationName=optional\n' $PWD $PWD $PWD > ca.cnf
 : > idx; [ -f serial ] || echo 1000 > serial
 openssl ca -batch -config ca.cnf -cert $3.pem -keyfile $3.key -in $1.csr -out $1.pem -startdate $4 -enddate $5 -notext >/dev/null 2>&1
}
ca ca "Test CA"; ca other "Other CA"
leaf box box ca 20250101000000Z 20350101000000Z
leaf peer peer ca 20250101000000Z 20350101000000Z
leaf expired old-peer ca 20240101000000Z 20250101000000Z
leaf stranger stranger other 20250101000000Z 20350101000000Z
ls
