/* OpenSSL libcrypto's SHA-256 on 41-byte messages (a row leaf's size in bench_clean's
 * data), per CPU-second, three ways: SHA256(), EVP with one reused context, EVP_Digest.
 * Issue 16 asked whether datasoil/formats/_sha256.c should call libcrypto instead of its
 * own compression function; bench/sha256.md has the answer and the command. */
#include <openssl/sha.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <time.h>
#include <string.h>
static double now(){struct timespec t;clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(){
  enum{N=2000000}; static unsigned char msg[42], out[32];
  memset(msg,7,sizeof msg);
  double t=now(); for(int i=0;i<N;i++){msg[1]=i; SHA256(msg,41,out);} double a=now()-t;
  EVP_MD_CTX*c=EVP_MD_CTX_new(); const EVP_MD*md=EVP_sha256(); unsigned int l;
  t=now(); for(int i=0;i<N;i++){msg[1]=i; EVP_DigestInit_ex(c,md,NULL);EVP_DigestUpdate(c,msg,41);EVP_DigestFinal_ex(c,out,&l);} double b=now()-t;
  t=now(); for(int i=0;i<N;i++){msg[1]=i; EVP_Digest(msg,41,out,&l,md,NULL);} double d=now()-t;
  printf("SHA256(): %.2f M/s  EVP reuse ctx: %.2f M/s  EVP_Digest: %.2f M/s (41-byte messages, CPU time)\n",N/a/1e6,N/b/1e6,N/d/1e6);
}
