// Reading the contracts: the deployment from the gateway (/deployment.json: ape's ABIs
// and the recorded addresses), contract state through the gateway's read-only /rpc,
// and every event from the gateway's event index (/api/..., docs/networks.md). The
// page never scans logs: public RPC providers refuse eth_getLogs over a few thousand
// blocks, the index reads them once in bounded pages.
import {
  createPublicClient,
  http,
  type Abi,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";

export interface Deployment {
  chainId: number;
  genesis: Hex;
  block: number;
  params: Record<string, string>;
  contracts: Record<string, { address: Address; abi: Abi }>;
}

export interface Dataset {
  id: bigint;
  owner: Address;
  registrant: Address;
  contentCid: string;
  metadataCid: string;
  rowRoot: Hex;
  rowCount: bigint;
  private: boolean;
  license: string;
  parents: bigint[];
  versionOf: bigint;
}

/** One indexed event: its arguments as JSON (integers as decimal strings, bytes as 0x hex). */
export interface IndexedEvent {
  contract: string;
  name: string;
  block: number;
  log_index: number;
  tx: Hex;
  args: Record<string, any>;
}

export interface Purchase extends IndexedEvent {
  status: "pending" | "delivered" | "objected" | "revealed" | "refunded" | "settled";
  envelope: Hex | null;
}

export interface Chain {
  deployment: Deployment;
  client: PublicClient;
  contract(name: string): { address: Address; abi: Abi };
  /** GET /api/<path> from the gateway's event index (one sentence when it fails). */
  api<T>(path: string, query?: Record<string, string | bigint | number>): Promise<T>;
  read(name: string, functionName: string, args?: unknown[]): Promise<any>;
}

/** The JSON of `url`, or an Error whose message is one sentence saying what failed. */
async function getJson<T>(url: string, what: string): Promise<T> {
  let answer: Response;
  try {
    answer = await fetch(url, { headers: { accept: "application/json" } });
  } catch {
    throw new Error(
      `The gateway's ${what} at ${new URL(url).origin} did not answer: start it with \`make web\` ` +
        "(or `python -m datasoil.app.gateway`) and reload",
    );
  }
  if (!answer.ok) {
    const said = (await answer.text()).trim().replace(/\s+/g, " ").replace(/\.$/, "");
    throw new Error(`The gateway's ${what} answered ${answer.status}: ${said}`);
  }
  return (await answer.json()) as T;
}

export async function loadChain(base = ""): Promise<Chain> {
  const origin = new URL(base || "/", location.href);
  const deployment = await getJson<Deployment>(new URL("deployment.json", origin).href, "deployment");
  const client = createPublicClient({ transport: http(new URL("rpc", origin).href) });
  const contract = (name: string) => {
    const found = deployment.contracts[name];
    if (!found) throw new Error(`The deployment has no ${name} contract: run \`ape run deploy\`.`);
    return found;
  };
  return {
    deployment,
    client,
    contract,
    api: <T>(path: string, query: Record<string, string | bigint | number> = {}) => {
      const url = new URL(`api/${path}`, origin);
      for (const [k, v] of Object.entries(query)) url.searchParams.set(k, String(v));
      return getJson<T>(url.href, "event index");
    },
    read: (name, functionName, args = []) =>
      client.readContract({ ...contract(name), functionName, args } as never),
  };
}

/** A dataset as the index answers it (`/api/datasets/<id>`, `/api/catalog` items). */
export interface DatasetJson {
  id: number;
  owner: Address;
  registrant: Address;
  content_cid: string;
  metadata_cid: string;
  row_root: Hex;
  row_count: number;
  private: boolean;
  license: string;
  parents: number[];
  version_of: number;
}

export function toDataset(d: DatasetJson): Dataset {
  return {
    id: BigInt(d.id),
    owner: d.owner,
    registrant: d.registrant,
    contentCid: d.content_cid,
    metadataCid: d.metadata_cid,
    rowRoot: d.row_root,
    rowCount: BigInt(d.row_count),
    private: d.private,
    license: d.license,
    parents: d.parents.map(BigInt),
    versionOf: BigInt(d.version_of),
  };
}

/** One registered dataset with its current owner, from the index (`/api/datasets/<id>`). */
export async function dataset(chain: Chain, id: bigint): Promise<Dataset> {
  return toDataset(await chain.api<DatasetJson>(`datasets/${id}`));
}
