#!/bin/sh
# Makes the certificate-mode test fixtures: a test "Alipay" root bundle (two
# RSA roots, an ECDSA root and an SM2 root that Go cannot parse), an
# intermediate, Alipay's certificate for ../../../../testdata/keys/alipay_*,
# a rotated Alipay certificate, the app's certificate for
# ../../../../testdata/keys/app_*, and a rogue certificate not under the
# root. Test-only: they protect nothing. Run from this directory.
set -eu
K=../../../../testdata/keys
days=36500
ext=ext.cnf
printf '[ca]\nbasicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\n[leaf]\nbasicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\n' > $ext

openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -sha256 -days $days -set_serial 0x7a3c91 \
  -subj "/C=CN/O=Test Ant Financial/OU=Certification Authority/CN=Test Ant Financial Certification Authority R1" \
  -addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign,cRLSign -out root.crt
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ecroot.key -sha256 -days $days -set_serial 5 \
  -subj "/C=CN/O=Test Ant Financial/CN=Test Ant Financial Certification Authority E1" -out ecroot.crt
openssl req -x509 -newkey sm2 -nodes -keyout sm2root.key -sm3 -days $days -set_serial 6 \
  -subj "/C=CN/O=Test NRCAC/CN=Test ROOTCA" -out sm2root.crt
# A second RSA root, SHA1-signed like Alipay's oldest one.
openssl req -x509 -newkey rsa:2048 -nodes -keyout root2.key -sha1 -days $days -set_serial 0x1a2b \
  -subj "/C=CN/O=Test iTrusChina/CN=Test iTrusChina Class 2 Root CA - G3" -out root2.crt
cat sm2root.crt root.crt ecroot.crt root2.crt > alipayRootCert.crt

openssl req -newkey rsa:2048 -nodes -keyout inter.key -subj "/C=CN/O=Test Ant Financial/OU=Certification Authority/CN=Test Ant Financial Certification Authority Class 2 R1" -out inter.csr
openssl x509 -req -in inter.csr -CA root.crt -CAkey root.key -set_serial 0x0123456789abcdef01 -days $days -sha256 -extfile $ext -extensions ca -out inter.crt

# Alipay's certificate: its key is testdata/keys/alipay_private_pkcs1.pem.
openssl req -new -key $K/alipay_private_pkcs1.pem -subj "/C=CN/O=Test Alipay/OU=Alipay/CN=2014072300007148" -out alipay.csr
openssl x509 -req -in alipay.csr -CA inter.crt -CAkey inter.key -set_serial 0x2019082200380 -days $days -sha256 -extfile $ext -extensions leaf -out alipay_leaf.crt
cat alipay_leaf.crt inter.crt > alipayCertPublicKey_RSA2.crt

# The certificate Alipay rotates to, with a new key.
openssl genrsa -traditional -out alipay2.key 2048
openssl req -new -key alipay2.key -subj "/C=CN/O=Test Alipay/OU=Alipay/CN=2014072300007148" -out alipay2.csr
openssl x509 -req -in alipay2.csr -CA inter.crt -CAkey inter.key -set_serial 0x2024082200381 -days $days -sha256 -extfile $ext -extensions leaf -out alipay2_leaf.crt
cat alipay2_leaf.crt inter.crt > alipayCertPublicKey_RSA2_rotated.crt

# A rogue certificate for the same rotated key, self-signed.
openssl req -x509 -key alipay2.key -sha256 -days $days -set_serial 0x2024082200381 \
  -subj "/C=CN/O=Test Alipay/OU=Alipay/CN=2014072300007148" -out rogue.crt

# The application's certificate, issued by an app CA whose DN lists its
# attributes in an unusual order (CN first).
openssl req -x509 -newkey rsa:2048 -nodes -keyout appca.key -sha256 -days $days -set_serial 77 \
  -subj "/CN=Test Ant Financial Certification Authority Class 1 R1/OU=Certification Authority/O=Test Ant Financial/L=Hangzhou/ST=Zhejiang/C=CN" -out appca.crt
openssl req -new -key $K/app_private_pkcs1.pem -subj "/C=CN/O=Test Merchant/OU=Alipay/CN=2014072300007148" -out app.csr
openssl x509 -req -in app.csr -CA appca.crt -CAkey appca.key -set_serial 0x0fa5b8e1c2d3 -days $days -sha256 -extfile $ext -extensions leaf -out appCertPublicKey_2014072300007148.crt

# Expected SNs, computed outside Go: md5(issuer DN in RFC 2253 + decimal serial).
sn() {
  issuer=$(openssl x509 -in "$1" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')
  serial=$(openssl x509 -in "$1" -noout -serial | sed 's/^serial=//')
  dec=$(echo "ibase=16; $serial" | BC_LINE_LENGTH=0 bc)
  printf '%s%s' "$issuer" "$dec" | md5sum | cut -d' ' -f1
}
{
  echo "app $(sn appCertPublicKey_2014072300007148.crt)"
  echo "alipay $(sn alipay_leaf.crt)"
  echo "rotated $(sn alipay2_leaf.crt)"
  echo "root $(sn root.crt)"
  echo "ecroot $(sn ecroot.crt)"
  echo "root2 $(sn root2.crt)"
} > sn.txt
rm -f *.csr $ext *.key.tmp inter.key root.key root2.key ecroot.key sm2root.key appca.key \
  alipay_leaf.crt alipay2_leaf.crt ecroot.crt inter.crt root.crt root2.crt sm2root.crt appca.crt
