// Every error a person sees is a sentence: revert strings are decoded by viem and
// the contracts' "module: precondition" strings are turned into plain language.
import { BaseError, ContractFunctionRevertedError, UserRejectedRequestError } from "viem";

const SENTENCES: Record<string, string> = {
  "market: not listed": "This dataset is not listed for sale.",
  "market: listing lapsed": "The listing lapsed: the dataset changed owner since it was listed.",
  "market: token changed": "The listing now asks for another token; reload and try again.",
  "market: token not allowed": "The market does not accept this token.",
  "market: price above max": "The price went up since you loaded the page; reload and try again.",
  "market: duration below min": "The access duration was shortened since you loaded the page.",
  "market: insufficient allowance": "The market may not spend enough of your tokens: approve the price first.",
  "market: permit rejected and allowance too low": "The token refused the permit signature, and the allowance is too low.",
  "market: zero encryption key": "No encryption key was given for the purchase.",
  "market: not the dataset owner": "Only the dataset's owner can do this.",
  "market: zero price": "The price must be above zero.",
  "market: price too large": "The price is too large (at most 2^96 - 1 base units).",
  "market: zero duration": "The access duration must be at least one second.",
  "market: duration too long": "The access duration is too long (at most about 34 years).",
  "market: upstream share above 100%": "The upstream share cannot exceed 10000 basis points (100%).",
  "market: nothing to withdraw": "You have nothing to withdraw in this token.",
  "market: purchase not pending": "This purchase has already been settled.",
  "market: refund timeout not reached": "The refund timeout has not passed yet.",
  "market: sales paused by a withdrawal": "New sales of this dataset are paused by a withdrawal request until its owner answers it.",
  "models: sales paused by a withdrawal": "New licences of this model are paused: a dataset it was trained on has an open withdrawal request.",
  "consent: row already has a request": "This row already has a withdrawal request.",
  "consent: row index past the dataset's count": "The dataset has no row with this index.",
  "registry: unknown dataset": "There is no dataset with this id.",
  "ERC20: transfer amount exceeds balance": "Your token balance is too low for this purchase.",
  "erc20: transfer amount exceeds balance": "Your token balance is too low for this purchase.",
};

/** A sentence for a revert reason ("module: what failed"). */
export function sentenceForReason(reason: string): string {
  const known = SENTENCES[reason];
  if (known) return known;
  const [module, ...rest] = reason.split(": ");
  if (rest.length) {
    const what = rest.join(": ");
    return `The ${module} contract refused: ${what.charAt(0).toUpperCase()}${what.slice(1)}.`;
  }
  return `The contract refused: ${reason}.`;
}

/** What went wrong, as one sentence a person can act on. */
export function explain(error: unknown): string {
  if (error instanceof BaseError) {
    const rejected = error.walk((e) => e instanceof UserRejectedRequestError);
    if (rejected) return "You declined the request in your wallet.";
    const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
    if (reverted instanceof ContractFunctionRevertedError) {
      if (reverted.reason) return sentenceForReason(reverted.reason);
      if (reverted.data?.errorName) return `The contract refused with ${reverted.data.errorName}.`;
      return "The contract refused the call without saying why.";
    }
    const match = /reverted with reason string '([^']+)'|execution reverted: ([^\n"]+)/.exec(error.message);
    if (match) return sentenceForReason((match[1] ?? match[2]).trim());
    return error.shortMessage.endsWith(".") ? error.shortMessage : `${error.shortMessage}.`;
  }
  if (error instanceof Error) return error.message.endsWith(".") ? error.message : `${error.message}.`;
  return `Something failed: ${String(error)}.`;
}
