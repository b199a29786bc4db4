/** The shape of a parsed EDIFACT file: interchanges, optional groups, messages and segments. */

/** The characters that structure an interchange, from UNA or the syntax defaults. */
export interface Separators {
  component: string;
  element: string;
  decimal: string;
  /** Empty when the interchange has no release character (UNA position 4 is a space). */
  release: string;
  terminator: string;
}

export interface Party {
  id: string;
  qualifier?: string;
}

export interface Segment {
  tag: string;
  /** The data elements after the tag, each a list of components, release characters resolved. */
  elements: string[][];
  /** 1-based segment number within the message (UNH = 1); 0 for service segments outside a message. */
  index: number;
  /** 1-based segment number in the file (UNA is not a segment and is not counted). */
  fileSegment: number;
}

export interface Message {
  ref: string;
  type: string;
  /** The rest of the message identifier, e.g. 'D:96A:UN:EAN008'. */
  version: string;
  segments: Segment[];
}

export interface Group {
  /** Message group identification (UNG 0038), e.g. 'ORDRSP'. */
  type: string;
  sender: Party;
  recipient: Party;
  preparedAt: string;
  ref: string;
  messages: Message[];
}

export interface Interchange {
  syntax: { id: string; version: string };
  sender: Party;
  recipient: Party;
  /** 'YYYY-MM-DDTHH:MM' (local to the sender; EDIFACT has no time zone), or the raw text if unreadable. */
  preparedAt: string;
  controlRef: string;
  /** UNB 0026, e.g. 'ORDRSP', 'INVOIC' or 'EANCOM'. */
  applicationRef?: string;
  separators: Separators;
  /** Present when the interchange uses UNG…UNE functional groups. */
  groups?: Group[];
  /** Every message of the interchange, grouped or not, in file order. */
  messages: Message[];
}

export interface EdifactFile {
  fileName?: string;
  interchanges: Interchange[];
}
