package alipay

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
)

// contentCipher is the gateway's optional content encryption (encrypt_type
// AES): AES-CBC with a zero IV and PKCS#7 padding, base64 on the wire. It
// hides biz_content and the response object from whoever terminates TLS on
// the way; the signature is made over the encrypted text.
type contentCipher struct {
	block cipher.Block
}

// ParseEncryptKey decodes the AES key as the Alipay console shows it
// (base64), or takes raw key bytes as they are.
func ParseEncryptKey(data []byte) ([]byte, error) {
	text := bytes.TrimSpace(data)
	if k, err := base64.StdEncoding.DecodeString(string(text)); err == nil && validAESKeyLen(len(k)) {
		return k, nil
	}
	if validAESKeyLen(len(data)) {
		return data, nil
	}
	return nil, fmt.Errorf("alipay: AES key: want base64 of 16, 24 or 32 bytes (got %d bytes that are not)", len(data))
}

func validAESKeyLen(n int) bool { return n == 16 || n == 24 || n == 32 }

func newContentCipher(key []byte) (*contentCipher, error) {
	k, err := ParseEncryptKey(key)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("alipay: AES key: %w", err)
	}
	return &contentCipher{block: block}, nil
}

// encrypt returns base64(AES-CBC(plain)) of biz, in GBK bytes when gbk.
func (c *contentCipher) encrypt(biz string, gbk bool) (string, error) {
	plain := biz
	if gbk {
		var err error
		if plain, err = toGBK(biz); err != nil {
			return "", err
		}
	}
	bs := c.block.BlockSize()
	pad := bs - len(plain)%bs
	buf := make([]byte, len(plain)+pad)
	copy(buf, plain)
	for i := len(plain); i < len(buf); i++ {
		buf[i] = byte(pad)
	}
	iv := make([]byte, bs)
	cipher.NewCBCEncrypter(c.block, iv).CryptBlocks(buf, buf)
	return base64.StdEncoding.EncodeToString(buf), nil
}

// decrypt reverses encrypt, returning the bytes in the wire charset.
func (c *contentCipher) decrypt(text string) ([]byte, error) {
	buf, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return nil, fmt.Errorf("encrypted response: not base64: %v", err)
	}
	bs := c.block.BlockSize()
	if len(buf) == 0 || len(buf)%bs != 0 {
		return nil, fmt.Errorf("encrypted response: %d bytes is not a whole number of AES blocks", len(buf))
	}
	iv := make([]byte, bs)
	cipher.NewCBCDecrypter(c.block, iv).CryptBlocks(buf, buf)
	pad := int(buf[len(buf)-1])
	if pad == 0 || pad > bs {
		return nil, errors.New("encrypted response: bad padding (wrong AES key?)")
	}
	for _, b := range buf[len(buf)-pad:] {
		if int(b) != pad {
			return nil, errors.New("encrypted response: bad padding (wrong AES key?)")
		}
	}
	return buf[:len(buf)-pad], nil
}
