// oauth2-mock-server as a client-credentials issuer of RS256 JWTs. Like a real authorization
// server, it puts the requested resource (RFC 8707) into `aud`. Listens on 127.0.0.1:$PORT.
import { OAuth2Server } from 'oauth2-mock-server';

const server = new OAuth2Server();
await server.issuer.keys.generate('RS256');
server.service.on('beforeTokenSigning', (token, req) => {
  const resource = req.body && req.body.resource;
  if (resource) token.payload.aud = resource;
});
await server.start(Number(process.env.PORT), '127.0.0.1');
console.log(`listening on ${server.issuer.url}`);
